"""The SockJS transport glue: a kite served over every SockJS transport (`_server`) and kites
dialled over WebSocket or XHR polling (`_client`, sessions in `_client_sessions`), each session
handed to the RPC core as a `MessagePipe`."""
