"""A curated, source-backed timeline of Turkey–Ukraine defence cooperation.

The package follows the path the data takes: ``load`` (YAML with positions)
→ ``validate`` (precise, located problems) → ``model`` (typed records)
→ ``build`` (SQLite) → ``serve`` (Datasette). ``dates`` owns every date rule.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("turkey-ukraine-timeline")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
