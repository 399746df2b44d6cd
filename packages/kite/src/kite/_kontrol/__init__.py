"""The Kontrol client: a kite's registration with Kontrol (over its kite connection or HTTP),
kite queries, tokens and their renewal."""
