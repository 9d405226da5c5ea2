"""The merge queue: rebase, gate the exact tree, fast-forward the target; batches with bisection."""
