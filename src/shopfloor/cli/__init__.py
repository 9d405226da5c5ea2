"""The command-line interface: thin handlers over the tracker's functions."""

# Register every package's tables before any command opens the database (see floor.tables).
from shopfloor.floor import tables as tables
