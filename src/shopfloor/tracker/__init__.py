"""The tracker: shopfloor's git-backed issue store, shared by every worker."""
