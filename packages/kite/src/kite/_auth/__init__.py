"""Authentication and keys: RSA PEM keys, the kite.key file, JWT kite keys and tokens, and the
callee-side `Authenticators` that check the credentials of incoming calls."""
