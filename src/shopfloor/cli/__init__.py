"""The command-line interface: thin handlers over the tracker's functions."""
