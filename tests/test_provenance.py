"""Edit history from git: when each event was first added and last changed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, SMALL, skip_or_fail
from timeline.build import build_file
from timeline.provenance import event_history


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
        blobs = original(root, specs, known)
        read.append(sum(blob is not None for blob in blobs))
        return blobs

    parsed: list[int] = []
    parse = provenance._fingerprints
    monkeypatch.setattr(provenance, "_read_blobs", counted)
    monkeypatch.setattr(provenance, "_fingerprints", lambda blob: parsed.append(1) or parse(blob))
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
    assert fingerprints_of(result.data) == _fingerprints(raw) and len(_fingerprints(raw)) > 100
