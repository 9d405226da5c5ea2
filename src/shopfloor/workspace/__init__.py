"""Workspaces: one git worktree and branch per worker, outside the main working tree."""
