"""The repository's memory: a full-text index (SQLite FTS5) over what earlier work left behind:
``.agents/`` notes (retros, research, plans), handoff notes and gate failures.

``docs`` is pure (what a document is, its source id, how words become a query); ``files``
reads ``.agents/``; ``index`` keeps the FTS5 table in step and searches it (``migrations``).
"""
