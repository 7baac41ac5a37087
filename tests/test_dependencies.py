"""Every third-party package the project imports is declared in pyproject.toml, in the
group that installs it where it is imported: the package and its plugins need the
dependencies; the tests also the ``test`` extra; the benchmarks also ``bench``. A package
that arrives only as another's dependency can go with that one's next release."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# The project's own modules, imported by name from each other's folders (tests put
# benchmarks/ on the path for the generator).
FOLDERS = ("timeline", "plugins", "tests", "benchmarks")
OWN = {"timeline", "plugins"} | {p.stem for f in FOLDERS for p in (ROOT / f).glob("*.py")}
# What each folder may import: the groups of pyproject.toml installed where it runs.
GROUPS = {
    "timeline": ("dependencies",),
    "plugins": ("dependencies",),
    "tests": ("dependencies", "test"),
    "benchmarks": ("dependencies", "test", "bench"),
}


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised as pip compares names (PEP 503)."""
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert found, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", found.group(0)).lower()


def declared(groups: tuple[str, ...]) -> set[str]:
    extras = PROJECT.get("optional-dependencies", {})
    return {
        _name(r)
        for group in groups
        for r in (PROJECT["dependencies"] if group == "dependencies" else extras[group])
    }


def imported(path: Path, *, module_level_only: bool = False) -> set[str]:
    """The top-level names of the modules a file imports absolutely, its own and the
    standard library's left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - OWN - set(sys.stdlib_module_names)


def undeclared(folder: str) -> dict[str, list[str]]:
    """Imported packages of ``folder`` whose distribution its groups do not declare, with
    the files that import them."""
    distributions = importlib.metadata.packages_distributions()
    allowed = declared(GROUPS[folder])
    missing: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).glob("*.py")):
        # The benchmarks import the parsers they compare where they use them, so that
        # without the bench extra their rows say "not installed": their module level only.
        for module in imported(path, module_level_only=folder == "benchmarks"):
            names = {_name(d) for d in distributions.get(module, [module])}
            if not names & allowed:
                missing.setdefault(module, []).append(path.name)
    return missing


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_imported_package_is_declared_where_it_is_imported(folder):
    assert undeclared(folder) == {}


def test_an_undeclared_import_is_found(tmp_path, monkeypatch):
    # the check itself: a package installed only as another's dependency (httpx comes with
    # datasette), imported by the package, is not declared for it
    (tmp_path / "timeline").mkdir()
    (tmp_path / "timeline" / "uses.py").write_text(
        "import os\nimport yaml\nfrom . import cli\n\ndef f():\n    import httpx\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert undeclared("timeline") == {"httpx": ["uses.py"]}
