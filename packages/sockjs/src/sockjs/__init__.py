"""sockjs package (work in progress)."""
