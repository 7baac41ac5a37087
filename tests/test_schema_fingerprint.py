"""The database's schema fingerprint: derived from the code that shapes the database, so a
new declaration rebuilds it from empty with no version number to bump by hand."""

from __future__ import annotations

import ast
import graphlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from support import ROOT, SMALL

from timeline.store import DATABASE_MODULES

PACKAGE = ROOT / "timeline"


def package_imports(module: str) -> set[str]:
    """The modules of this package that ``module`` imports, at any level of its code."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {alias.name for alias in node.names}
    return {m for m in found if (PACKAGE / f"{m}.py").exists()}


def test_the_fingerprint_covers_every_module_the_build_imports():
    seen, todo = set(), ["build"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += package_imports(module)
    assert set(DATABASE_MODULES) == seen


def test_the_package_imports_without_a_circle():
    """The modules import each other top-down, the ones imported inside a function too:
    the build's stages read as the data flows, none reaching back into a later one."""
    graph = {path.stem: package_imports(path.stem) - {path.stem} for path in PACKAGE.glob("*.py")}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError, naming the circle
    assert {"store", "changes", "rows", "derive"} <= graph["build"]  # the stages it runs


def run_build(package_root: Path, yaml_path: Path, db: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    done = subprocess.run(
        [sys.executable, "-c", "from timeline.cli import app; app()", "build", str(yaml_path),
         "--db", str(db)],
        capture_output=True, text=True, env=env, cwd=yaml_path.parent, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_declaration_rebuilds_a_built_project(tmp_path):
    """Declare a field on a built project: the next build starts again and stores it."""
    root = tmp_path / "code"
    shutil.copytree(PACKAGE, root / "timeline", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    project.mkdir()
    yaml_path = project / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    db = project / "record.db"
    assert "Built" in run_build(root, yaml_path, db)
    assert "up to date" in run_build(root, yaml_path, db)

    schema_py = root / "timeline" / "schema.py"
    text = schema_py.read_text(encoding="utf-8")
    anchor = (
        '        "notes": _text("Discrepancies, context, what is uncertain; why no day is given."),'
    )
    assert anchor in text
    schema_py.write_text(
        text.replace(anchor, anchor + '\n        "priority": _text("How urgent it is."),'),
        encoding="utf-8",
    )
    assert "Built" in run_build(root, yaml_path, db)
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("pragma table_info(events)")}
    assert "priority" in columns
