"""What a kite tells about itself: its loggers, its per-call observers and its health check."""
