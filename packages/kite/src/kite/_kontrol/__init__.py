"""The Kontrol client: a kite's registration with Kontrol (over its kite connection or HTTP),
kite queries, tokens and their renewal.

`_client` (`KontrolClient`) holds the connection and the calls; `_registration` the message
shapes and the HTTP path; `_kite_client` (`KiteClient`) a kite found through Kontrol, with its
`TokenRenewer` (`_renewer`); `_kite_methods` the kite's own forwarding methods.
"""
