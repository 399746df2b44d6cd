"""Test support: the SockJS protocol test application (`python -m kite.testing.sockjs_app`)."""

from .sockjs_app import SERVICES, echo, open_sockjs_app

__all__ = ["SERVICES", "echo", "open_sockjs_app"]
