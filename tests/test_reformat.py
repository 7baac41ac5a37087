"""`timeline fmt` record by record (`timeline.reformat`): the same file as the whole file's
layout (`layout.format_text`) for any text, comments carried to what follows them, a cache
of verdicts that spares unchanged records, and a diff with the file's line numbers."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import EDITS, REAL, SMALL, edited, examples
from test_fmt import COMMENTED
from typer.testing import CliRunner

from timeline import files, load, reformat
from timeline.cli import app
from timeline.layout import LayoutError, format_text
from timeline.load import LoadError

runner = CliRunner()
PATH = Path("events.yaml")
BASES = {"commented": COMMENTED, "small": SMALL.read_text(encoding="utf-8")}


def whole(raw: bytes) -> bytes | type[Exception]:
    """The whole file's layout, as fmt wrote it before it worked record by record."""
    from timeline.files import line_ending

    try:
        text = format_text(load.decode(raw), PATH)
    except (LoadError, LayoutError) as exc:
        return type(exc)
    newline = line_ending(raw)
    bom = "\ufeff" if raw.startswith(reformat.BOM_BYTES) else ""
    return (bom + text.replace("\n", newline)).encode()


CANONICAL = whole(SMALL.read_bytes())  # the small timeline in canonical layout


def by_record(raw: bytes, cache=None) -> bytes | type[Exception]:
    try:
        return reformat.lay_out(raw, PATH, cache).data()
    except (LoadError, LayoutError) as exc:
        return type(exc)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from(sorted(BASES)),
    edits=EDITS,
    after=st.sampled_from(["\nevents:\n", "\n"]),  # among the events, or anywhere
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_record_by_record_equals_the_whole_file(base, edits, after, newline, bom):
    """Any edit, comments anywhere, CRLF, a byte-order mark: the same bytes or the same error."""
    text = edited(BASES[base], edits, after)
    raw = (("\ufeff" if bom else "") + text.replace("\n", newline)).encode()
    expected = whole(raw)
    assert by_record(raw) == expected
    if isinstance(expected, bytes):
        canonical = reformat.lay_out(expected, PATH)
        assert canonical.unchanged() == (canonical.data() == expected)


def test_comments_flow_to_what_follows_them():
    """A comment line after a record's last field goes in front of the next record (here
    one without comments of its own, laid out alone) and travels with it when events are
    sorted; one after a section's last record goes in front of the next section's line."""
    text = COMMENTED.replace(
        "      - {source: s1, quote: Q}\n",
        "      - {source: s1, quote: Q}\n      # about a-earlier\n",
    ).replace(
        "    kind: news\n    language: en\n", "    kind: news\n    language: en\n# actors next\n"
    )
    raw = text.encode()
    out = reformat.lay_out(raw, PATH).data().decode()
    assert out == whole(raw).decode()
    lines = out.splitlines()
    assert lines[lines.index("  - id: a-earlier") - 1] == "  # about a-earlier"
    assert lines.index("  - id: a-earlier") < lines.index("  - id: b-later")
    assert lines[lines.index("actors: []") - 1] == "# actors next"
    assert lines[lines.index("events:") - 1] == "# before the events section"
    assert lines[-1] == "# trailing comment"


def test_the_real_file_is_canonical_and_each_way_agrees():
    raw = REAL.read_bytes()
    canonical = reformat.lay_out(raw, PATH)
    assert canonical.unchanged() and canonical.data() == raw
    assert canonical.found == len(canonical.canonical_keys) > 1000


def test_two_processes_lay_out_as_one(monkeypatch):
    raw = REAL.read_bytes()
    one = reformat.lay_out(raw, PATH)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 1)
    two = reformat.lay_out(raw, PATH)
    assert two.data() == one.data() and two.canonical_keys == one.canonical_keys


def test_a_cached_record_is_not_read_again(monkeypatch):
    raw = CANONICAL
    first = reformat.lay_out(raw, PATH)
    events = raw.index(b"\nevents:\n")
    changed = raw[:events] + raw[events:].replace(b"summary: ", b"summary:  ", 1)
    read: list[bytes] = []
    real_read = reformat._lay_out_alone
    monkeypatch.setattr(
        reformat,
        "_lay_out_alone",
        lambda piece, *more: read.append(piece) or real_read(piece, *more),
    )
    again = reformat.lay_out(raw, PATH, first.canonical_keys)
    assert read == [] and again.unchanged()
    after_edit = reformat.lay_out(changed, PATH, first.canonical_keys)
    assert len(read) == 1 and b"summary:  " in read[0]
    assert after_edit.data() == whole(changed) == raw


def test_a_cached_event_keeps_its_place_in_the_order():
    """Unchanged events are sorted by the key the cache kept, beside a moved one."""
    raw = CANONICAL
    first = reformat.lay_out(raw, PATH)
    text = raw.decode()
    events = text.index("\nevents:\n") + len("\nevents:\n")
    records = text[events:].split("\n  - id:")  # the last one ends the file
    assert len(records) > 3
    swapped = text[:events] + "\n  - id:".join([records[0], records[2], records[1], *records[3:]])
    assert swapped != text
    assert reformat.lay_out(swapped.encode(), PATH, first.canonical_keys).data() == raw


def test_fmt_check_keeps_a_cache_and_knows_a_canonical_file_by_its_stamp(tmp_path, monkeypatch):
    path = tmp_path / "events.yaml"
    path.write_bytes(CANONICAL)
    monkeypatch.setattr(files, "SETTLED_NS", 0)
    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0
    cache = reformat.FmtCache(path).load()
    assert cache.path.name == ".events.yaml.fmt-cache" and cache.known_canonical()
    assert len(cache.entries) == len(reformat.lay_out(path.read_bytes(), path).canonical_keys)
    monkeypatch.setattr(reformat, "lay_out", lambda *a: pytest.fail("the file was read"))
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 0 and "already in canonical layout" in result.stdout


def test_a_change_to_the_layout_empties_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "events.yaml"
    path.write_bytes(CANONICAL)
    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0
    assert reformat.FmtCache(path).load().entries
    reformat.layout_fingerprint.cache_clear()
    monkeypatch.setattr(reformat, "LAYOUT_MODULES", (*reformat.LAYOUT_MODULES, "digest"))
    try:
        assert reformat.FmtCache(path).load().entries == {}
    finally:
        reformat.layout_fingerprint.cache_clear()


def test_a_cache_that_cannot_be_written_is_said_and_fmt_works_on(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(CANONICAL)
    reformat.FmtCache(path).path.mkdir()  # a directory where the cache would go
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 0 and "already in canonical layout" in result.stdout
    assert "cannot" in result.stderr and "fmt works without it" in result.stderr


def test_the_diff_names_the_file_s_lines(tmp_path):
    path = tmp_path / "events.yaml"
    raw = CANONICAL.decode()
    at = raw.index("    status: confirmed", raw.index("\nevents:\n"))
    path.write_text(raw[:at] + "    status:   confirmed" + raw[at + len("    status: confirmed") :])
    line = raw.count("\n", 0, at) + 1
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 1 and "not in canonical layout" in result.stderr
    hunk = next(h for h in result.stdout.splitlines() if h.startswith("@@"))
    assert hunk == f"@@ -{line - 3},7 +{line - 3},7 @@"
    assert "-    status:   confirmed\n+    status: confirmed\n" in result.stdout


def test_a_cache_cut_short_is_not_used_and_is_written_again(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(CANONICAL)
    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0
    cache = reformat.FmtCache(path)
    whole_cache = cache.path.read_bytes()
    cache.path.write_bytes(whole_cache[:-7])
    assert reformat.FmtCache(path).load().entries == {}
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 0 and result.stderr == ""
    assert (
        reformat.FmtCache(path).load().entries == reformat.lay_out(CANONICAL, path).canonical_keys
    )


@functools.cache
def _previous(base: str, newline: str) -> reformat.Previous | None:
    texts = {**BASES, "real": REAL.read_text(encoding="utf-8")}
    return reformat.lay_out(texts[base].replace("\n", newline).encode(), PATH).cut


@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from(["small", "commented", "real"]),
    edits=EDITS,
    after=st.sampled_from(["\nevents:\n", "\n"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_cuts_found_from_the_last_file_are_the_whole_file_s(base, edits, after, newline):
    """Any edit: where the file read last says the file is cut, cutting it whole finds the
    same places and digests; and the layout is the same either way."""
    texts = {**BASES, "real": REAL.read_text(encoding="utf-8")}
    previous = _previous(base, newline)
    if previous is None:  # laid out whole (a CRLF file with a blank line above its first key)
        assert base == "commented" and newline == "\r\n"
        return
    raw = edited(texts[base], edits, after).replace("\n", newline).encode()
    try:  # (read once: its cuts and its layout are both compared)
        fresh = reformat.lay_out(raw, PATH)
    except (LoadError, LayoutError) as exc:
        fresh = exc  # a record that does not read: the whole file's reading says why
    found = reformat.recut(raw, newline, previous)
    if found is not None:
        assert found[0] == reformat._cut(raw, 0)
        # (a file laid out whole, or a record that does not read, has no cuts to compare)
        cut = None if isinstance(fresh, Exception) else fresh.cut
        assert cut is None or found[1] == cut.digests
    try:
        again = reformat.lay_out(raw, PATH, previous=previous).data()
    except (LoadError, LayoutError) as exc:
        again = type(exc)
    assert again == (type(fresh) if isinstance(fresh, Exception) else fresh.data())


def test_an_edit_of_one_record_is_recut_from_the_last_file():
    raw = REAL.read_bytes()
    previous = reformat.lay_out(raw, PATH).cut
    at = raw.index(b"    summary: ", len(raw) // 2)
    edited_raw = raw[:at] + b"    summary: Shorter.\n" + raw[raw.index(b"\n    ", at + 14) + 1 :]
    found = reformat.recut(edited_raw, "\n", previous)
    assert found is not None
    assert found[0] == reformat.lay_out(edited_raw, PATH).cut.cuts


def test_fmt_check_after_an_edit_cuts_only_the_changed_stretch(tmp_path, monkeypatch):
    path = tmp_path / "events.yaml"
    path.write_bytes(CANONICAL)
    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0
    text = CANONICAL.decode()
    at = text.index("    title: ", text.index("\nevents:\n")) + len("    title: ")
    path.write_text(text[:at] + "Z" + text[at + 1 :])  # one letter of one title
    monkeypatch.setattr(reformat, "_cut", lambda *a: pytest.fail("the whole file was cut"))
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 0 and "already in canonical layout" in result.stdout
