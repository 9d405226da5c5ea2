"""Agent adapters: what shopfloor knows about each coding-agent CLI (one registry)."""
