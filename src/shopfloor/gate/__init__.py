"""The gatekeeper: independent re-checking of every candidate commit, with rules from the target branch."""
