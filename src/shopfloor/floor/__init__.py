"""The floor: the deterministic coordinator that keeps workers busy, gates, refines, and lands work."""
