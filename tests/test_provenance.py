"""Edit history from git: when each event was first added and last changed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, SMALL, skip_or_fail
from timeline.build import build_file
from timeline.provenance import event_history

sys.path.insert(0, str(ROOT / "benchmarks"))


def git(repo: Path, *args: str, date: str | None = None) -> None:
    env = {"GIT_AUTHOR_NAME": "Curator", "GIT_AUTHOR_EMAIL": "c@example.org",
           "GIT_COMMITTER_NAME": "Curator", "GIT_COMMITTER_EMAIL": "c@example.org",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    git(tmp_path, "init", "-q", "-b", "main")
    text = SMALL.read_text()
    first = text.split("  - id: fleet-destroyed-claim")[0]
    (tmp_path / "events.yaml").write_text(first)
    git(tmp_path, "add", "events.yaml")
    git(tmp_path, "commit", "-qm", "first events", date="2024-01-01T10:00:00+00:00")
    (tmp_path / "events.yaml").write_text(text)
    git(tmp_path, "commit", "-qam", "add the claim", date="2024-02-01T10:00:00+00:00")
    changed = text.replace("Scheduled flights stop", "Scheduled flights are stopped")
    (tmp_path / "events.yaml").write_text(changed)
    git(tmp_path, "commit", "-qam", "reword", date="2024-03-01T10:00:00+02:00")
    return tmp_path


def test_first_added_and_last_changed(repo):
    history, _ = event_history(repo / "events.yaml")
    assert set(history) == {"montreux", "baykar-ukrspecexport-2019", "flight-suspension",
                            "fleet-destroyed-claim"}  # fmt: skip
    assert history["montreux"].first_added == "2024-01-01T10:00:00+00:00"
    assert history["montreux"].last_changed == "2024-01-01T10:00:00+00:00"
    assert history["fleet-destroyed-claim"].first_added == "2024-02-01T10:00:00+00:00"
    assert history["flight-suspension"].first_added == "2024-01-01T10:00:00+00:00"
    assert history["flight-suspension"].last_changed == "2024-03-01T10:00:00+02:00"


def test_build_records_history_and_rebuilds_on_a_new_commit(repo):
    db = build_file(repo / "events.yaml").db_path
    rows = dict(sqlite3.connect(db).execute("select id, first_added from events").fetchall())
    assert rows["fleet-destroyed-claim"] == "2024-02-01T10:00:00+00:00"
    assert build_file(repo / "events.yaml").skipped
    (repo / "notes.txt").write_text("unrelated")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "unrelated file")
    assert build_file(repo / "events.yaml").skipped  # events.yaml's last commit is the same
    git(repo, "commit", "-q", "--allow-empty", "-m", "touch", "--", "events.yaml")
    assert build_file(repo / "events.yaml").skipped  # an empty commit does not touch the file
    (repo / "events.yaml").write_text((repo / "events.yaml").read_text() + "# note\n")
    git(repo, "commit", "-qam", "comment")
    assert not build_file(repo / "events.yaml").skipped


def test_outside_git_there_is_no_history(small_yaml):
    assert event_history(small_yaml)[0] == {}
    db = build_file(small_yaml).db_path
    assert sqlite3.connect(db).execute("select count(first_added) from events").fetchone() == (0,)


async def test_recently_added_page_and_atom_feed_follow_additions(repo):
    import feedparser
    from support import site

    db = build_file(repo / "events.yaml", repo / "db" / "record.db").db_path
    ds = await site(db)
    page = await ds.client.get("/record/recently_added.json?_shape=array")
    assert page.status_code == 200
    assert page.json()[0]["event_id"] == "fleet-destroyed-claim"  # the last one added
    added = [row["added"] for row in page.json()]
    assert added == sorted(added, reverse=True)
    assert added[0] == "2024-02-01"  # the claim, added second
    feed = feedparser.parse((await ds.client.get("/record/recently_added_feed.atom")).text)
    assert len(feed.entries) == 4
    assert feed.entries[0].title.startswith("Added: c. February 2022: Claim")
    assert feed.entries[0].updated == "2024-02-01T10:00:00+00:00"


def test_each_build_reads_only_the_commits_since_the_last_one(repo, monkeypatch):
    """The history a build carries on equals the history read from scratch, after every
    commit, and a build reads only the newer versions of the file."""
    from timeline import provenance

    read: list[int] = []
    original = provenance._read_blobs

    def counted(root, specs, known=None):
        blobs = list(original(root, specs, known))
        read.append(sum(blob is not None for blob in blobs))
        return (blob for blob in blobs)  # a generator, as the real one is

    parsed: list[int] = []
    parse = provenance._fingerprints
    monkeypatch.setattr(provenance, "_read_blobs", counted)
    monkeypatch.setattr(
        provenance, "_fingerprints", lambda blob, seen: parsed.append(1) or parse(blob, seen)
    )
    path = repo / "events.yaml"
    db = build_file(path).db_path
    # three commits; the newest holds the file being built, so it is neither read (its
    # object id says so) nor parsed again
    assert read == [2] and len(parsed) == 2
    text = path.read_text(encoding="utf-8")
    for n, (old, new) in enumerate([("Montreux", "Montreux (Switzerland)"),
                                    ("Russia suspends", "Russia halts")]):  # fmt: skip
        text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
        git(repo, "commit", "-qam", f"edit {n}", date=f"2024-04-0{n + 1}T10:00:00+00:00")
        read.clear()
        parsed.clear()
        build_file(path)
        assert read == [0] and parsed == []  # the one new commit, whose file is being built
        full, _ = event_history(path)
        conn = sqlite3.connect(db)
        rows = conn.execute("select id, first_added, last_changed from events").fetchall()
        assert rows and all(
            (first, last) == (full[i].first_added, full[i].last_changed) for i, first, last in rows
        )
    assert full["montreux"].last_changed == "2024-04-01T10:00:00+00:00"
    assert full["flight-suspension"].last_changed == "2024-04-02T10:00:00+00:00"


def test_the_data_being_built_fingerprints_like_its_committed_version():
    from timeline.provenance import _fingerprints, fingerprints_of
    from timeline.validate import validate_bytes

    raw = (ROOT / "events.yaml").read_bytes()
    result = validate_bytes(raw, ROOT / "events.yaml")
    assert (
        fingerprints_of(result.data) == _fingerprints(raw, {}) and len(_fingerprints(raw, {})) > 100
    )


def _read_whole(blob: bytes) -> dict[str, str]:
    """What the history read of a version before it read record by record."""
    import yaml

    from timeline.provenance import fingerprints_of

    try:
        return fingerprints_of(yaml.load(blob, Loader=yaml.CSafeLoader))
    except Exception:  # as the history reads one: a broken version tells nothing
        return {}


ANCHORED = b"  - &m\n    id: montreux\n"
NO_ID = b"  - title: none\n    id:\n"


def _committed(count: int) -> list[bytes]:
    """``count`` committed versions of the real file, the first and the last among them,
    oldest first (none outside a git checkout)."""
    log = subprocess.run(["git", "log", "--reverse", "--format=%H", "--", "events.yaml"],
                         cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    shas = log.stdout.split() if log.returncode == 0 else []
    spread = {round(i * (len(shas) - 1) / (count - 1)) for i in range(count)} if shas else ()
    picked = sorted(spread)
    return [subprocess.run(["git", "show", f"{shas[i]}:events.yaml"], cwd=ROOT,
                           capture_output=True, check=True).stdout for i in picked]  # fmt: skip


def _versions() -> dict[str, bytes]:
    """Versions of the file to read: the test files, every malformed input, and forms
    that do not cut into records (read whole)."""
    from generate import write_realistic

    versions = {p.name: p.read_bytes() for folder in (ROOT / "tests" / "data",
                ROOT / "tests" / "malformed") for p in sorted(folder.glob("*.yaml"))}  # fmt: skip
    real, small = (ROOT / "events.yaml").read_bytes(), SMALL.read_bytes()
    first = b"  - id: montreux\n"
    changed = {
        "an alias across records": small.replace(first, b"  - &m\n    id: montreux\n", 1)
        + b"  - *m\n",
        "an event without an id": small.replace(first, b"  - title: none\n    id:\n", 1),
        "an id twice": small + small[small.index(first) :],
    }
    assert all(version != small for version in changed.values())
    versions |= changed | {
        "real": real,
        "crlf": real.replace(b"\n", b"\r\n"),
        "byte-order mark": b"\xef\xbb\xbf" + small,
        "events twice": small + b"events:\n  - id: again\n",
        "events as a flow list": b"events: [{id: a, title: x}, {id: b}]\n",
        "no events": b"actors: []\n",
        "events with a value and items": b"events: 1\n  - id: a\n",
        "not yaml": b"events:\n  - id: [\n",
    }
    with tempfile.TemporaryDirectory() as folder:
        versions["generated"] = write_realistic(300, Path(folder) / "g.yaml", seed=3).read_bytes()
    return versions


def test_a_version_reads_record_by_record_as_it_reads_whole():
    from timeline.provenance import _fingerprints

    for name, blob in _versions().items():
        assert _fingerprints(blob, {}) == _read_whole(blob), name


def test_committed_versions_read_in_turn_as_they_read_whole():
    """As the history reads them: oldest first, what an earlier version held not read again."""
    from timeline.provenance import _fingerprints

    versions = _committed(8)
    assert len(versions) > 1 or not (ROOT / ".git").exists()
    seen: dict = {}
    for n, blob in enumerate(versions):
        assert _fingerprints(blob, seen) == _read_whole(blob), n


def test_a_record_an_earlier_version_held_is_not_read_again(monkeypatch):
    """Across the versions of one history, only the records whose bytes are new are read."""
    from timeline import load, provenance

    read: list[bytes] = []
    real_read = load.read_piece_bytes
    monkeypatch.setattr(
        load, "read_piece_bytes", lambda piece: read.append(piece) or real_read(piece)
    )
    first = (ROOT / "events.yaml").read_bytes()
    last = first.rindex(b"\n  - id: ") + len(b"\n  - id: ")  # the last event's id
    second = first[:last] + b"renamed-" + first[last:]
    seen: dict = {}
    got = [provenance._fingerprints(v, seen) for v in (first, second, first)]
    assert got == [_read_whole(first), _read_whole(second), _read_whole(first)]
    sections = len(load.section_starts(first)) - 1
    per_version = [sections + len(_read_whole(first)), sections + 1, sections]
    assert len(read) == sum(per_version)  # the keys' own lines, then the new records only


@pytest.mark.parametrize(
    ("broken", "kind"),
    [('date: "1936-07-20"', "date: 2021-02-30"), ("id: montreux", "id: montreux\n    1: x")],
    ids=["an impossible unquoted date", "keys of two types"],
)
def test_a_committed_version_that_cannot_be_read_tells_nothing(tmp_path, broken, kind):
    """PyYAML raises ValueError on an unquoted impossible date and json TypeError on keys of
    two types: such a version in the history made every build end in a traceback."""
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    git(tmp_path, "init", "-q", "-b", "main")
    text = SMALL.read_text()
    assert broken in text
    (tmp_path / "events.yaml").write_text(text.replace(broken, kind, 1))
    git(tmp_path, "add", "events.yaml")
    git(tmp_path, "commit", "-qm", "a mistake", date="2024-01-01T10:00:00+00:00")
    (tmp_path / "events.yaml").write_text(text)
    git(tmp_path, "commit", "-qam", "mended", date="2024-02-01T10:00:00+00:00")
    db = build_file(tmp_path / "events.yaml").db_path
    rows = dict(sqlite3.connect(db).execute("select id, last_changed from events").fetchall())
    assert rows["montreux"] == "2024-02-01T10:00:00+00:00"


def test_the_versions_are_read_one_at_a_time_and_git_ends_with_the_reading(repo):
    from timeline.provenance import _blob_contents

    log = subprocess.run(["git", "log", "--reverse", "--format=%H"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    specs = [f"{sha}:events.yaml" for sha in log] + ["0000000:events.yaml"]
    expected = [subprocess.run(["git", "show", spec], cwd=repo, capture_output=True,
                               check=True).stdout for spec in specs[:-1]]  # fmt: skip
    assert list(_blob_contents(repo, specs)) == [*expected, b""]  # a missing one: empty
    reading = _blob_contents(repo, specs)
    assert next(reading) == expected[0]
    git_pid = reading.gi_frame.f_locals["git"].pid
    assert Path(f"/proc/{git_pid}").exists()  # asked for the next one only when wanted
    reading.close()  # a reader that stops early (OtherVersion) leaves no git behind
    assert not Path(f"/proc/{git_pid}").exists()


def test_records_the_caller_has_read_are_not_read_again(repo, monkeypatch):
    """The build hands the history its own records (their digests, ids and fingerprints,
    from the spans): an older version's records with the same bytes are not parsed."""
    from timeline import load, provenance
    from timeline.store import stored_spans

    path = repo / "events.yaml"
    raw = path.read_bytes()
    with sqlite3.connect(build_file(path).db_path) as conn:
        spans = stored_spans(conn)  # with each event's fingerprint, in git
    prints = spans.fingerprints()
    records = spans.records(prints)
    seen: dict = {}
    provenance._fingerprints(raw, seen)
    assert records == seen and len(records) == 4  # the spans cut where the history does
    read: list[bytes] = []
    real_read = load.read_piece_bytes
    monkeypatch.setattr(load, "read_piece_bytes", lambda p: read.append(p) or real_read(p))
    full, _ = event_history(path)
    read.clear()
    given, _ = event_history(path, current=(raw, lambda: prints), records=lambda: records)
    assert given == full
    # the two older versions: their keys' own lines, and the reworded event's old version
    # (the first version lacks the claim; the other events' bytes are the current ones)
    items = [p for p in read if p.startswith(b"  - ")]
    assert len(items) == 1 and b"Scheduled flights stop" in items[0]
