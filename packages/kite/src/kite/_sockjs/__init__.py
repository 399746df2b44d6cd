"""The SockJS transport glue: every SockJS session a kite serves or dials becomes a
`MessagePipe` for the RPC core.

Serving: `_server` (`open_kite_server`, `KiteServer`) mounts the `SockJSEndpoint` (`_endpoint`)
on the HTTP server; each session is an `HTTPSessionPipe` (`_http_pipe`, the HTTP transports) or
a `WebSocketSessionPipe` (`_websocket_pipe`), both `SockJSPipe`s (`_pipe`); settings in
`_options`. Dialling: `_client` (`dial`, `Client`) over a `WebSocketClientPipe` or
`XHRClientPipe` (`_client_pipes`).
"""
