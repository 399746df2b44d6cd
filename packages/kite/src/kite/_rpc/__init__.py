"""The RPC core: dnode method calls over any `MessagePipe`, with no transport of its own.

A connection is a `Peer` (`_peer`) reading and writing one pipe (`_pipe`); outgoing calls are
encoded by `_envelope`, incoming requests are served by the `Callee` (`_callee`) through the
handler chain of a `Method` (`_methods`), each as a `Request` (`_request`).
"""
