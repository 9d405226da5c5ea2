"""Workers: an agent session in its own worktree and terminal, run through a shim, recorded in SQLite."""
