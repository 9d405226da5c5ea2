"""Model services shopfloor can stand in for: the scripted model server for tests and demos."""
