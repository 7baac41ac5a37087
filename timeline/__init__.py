"""A curated, source-backed timeline of Turkey–Ukraine defence cooperation.

The package follows the path the data takes: ``load`` (YAML with positions)
→ ``validate`` (precise, located problems) → ``model`` (typed records)
→ ``build`` (SQLite) → ``serve`` (Datasette). ``dates`` owns every date rule.
"""

# Read by pyproject.toml (one place for the version); importlib.metadata took 50 ms to start.
__version__ = "0.1.0"
