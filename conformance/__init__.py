"""Conformance with Go kite: recorded Go traffic (`_captures`) and live Go peers (`_gopeers`).

Nothing here is published; tests in ``conformance/tests`` use these helpers, and so may tests of
the packages that want real Go bytes.
"""
