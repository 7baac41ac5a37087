"""Shared fixtures: small YAML files in temporary directories, and databases built from them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from timeline.build import build_file

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SMALL = DATA / "small.yaml"
SEEDS = ROOT.parent / "shared" / "seeds"


def skip_or_fail(reason: str) -> None:
    """Skip an optional part locally; under CI=true nothing may skip, so fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test may not be skipped)")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    """Property tests draw the share of their examples TIMELINE_EXAMPLES_SHARE asks for (all
    of them unless it is set): those that name no count draw that share of Hypothesis's."""
    from hypothesis import settings
    from support import examples, examples_share

    try:
        examples_share()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    settings.register_profile("share", max_examples=examples(settings.default.max_examples))
    settings.load_profile("share")


@pytest.fixture
def small_yaml(tmp_path: Path) -> Path:
    """A copy of the small valid timeline, safe to edit."""
    target = tmp_path / "events.yaml"
    shutil.copy(SMALL, target)
    return target


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to a fresh events.yaml and return its path."""

    def write(text: str, name: str = "events.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """The small timeline built once per test module (for read-only site tests)."""
    from support import build

    return build(SMALL, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
async def ds(small_db: Path):
    """The published site over the small timeline, shared by a module's tests."""
    from support import site

    return await site(small_db)


@pytest.fixture(scope="session")
def real_db(tmp_path_factory) -> Path:
    """The real events.yaml, built once per test process (the tests only read it)."""
    from support import REAL, build

    return build(REAL, tmp_path_factory.mktemp("real"))


@pytest.fixture
def fresh_db(small_yaml: Path) -> Path:
    """A database built from the small timeline."""
    return build_file(small_yaml).db_path


def files_in(directory: Path) -> list[str]:
    """Names in ``directory``, without the writers' lock files (``.NAME.lock``, kept on purpose:
    deleting a lock file while another process waits on it would break the lock) and without
    SQLite's companions of a database in write-ahead-log mode (``NAME-wal``, ``NAME-shm``: a
    read-only reader leaves them, and they hold nothing a reader does not see)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith(LEFT_BESIDE))


LEFT_BESIDE = (".lock", ".db-wal", ".db-shm")


def run_and_kill(command: list[str], cwd: Path, delay: float) -> int:
    """Start ``command``, SIGKILL it after ``delay`` seconds if it is still running, and
    return its exit status (negative: the signal). Never leaves the process behind."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# Chromium and its pages for the browser tests (tests/browsing.py), against the ``server``
# fixture of each browser test module: each serves its own file. (browsing is imported
# when a browser test asks: it imports this module.)
@pytest.fixture(scope="module")
def browser(server):
    from browsing import chromium

    yield from chromium()


@pytest.fixture
def page(browser):
    """A 1280 px page that fails its test on any console error or failed request."""
    from browsing import checked_page

    yield from checked_page(browser)


@pytest.fixture
def phone(browser):
    """The same on a 375 px touch screen."""
    from browsing import PHONE_WIDTH, checked_page

    yield from checked_page(browser, PHONE_WIDTH, 812)
