"""kontrol package (work in progress)."""
