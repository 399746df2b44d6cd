"""kite package (work in progress)."""
