"""dnode package (work in progress)."""
