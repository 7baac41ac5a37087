"""Reading a file record by record (``load_text(record_by_record=True)``: each top-level key
and each item of a top-level list parsed alone, no node graph of the whole file) gives the
whole file's reading: the same data and positions, or the same error, on the real file,
generated files, every test input and random edits of a file."""

from __future__ import annotations

import itertools
import sys
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from timeline import load
from timeline.load import Document, LoadError, decode, load_bytes, load_text
from timeline.validate import validate_bytes, validate_document, validate_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from generate import realistic_yaml  # noqa: E402
from support import EDITS, edited, examples, mapped, reaped, spied_forks  # noqa: E402

INPUTS = [
    ROOT / "events.yaml",
    *sorted((ROOT / "tests" / "malformed").iterdir()),
    *sorted((ROOT / "tests" / "data").iterdir()),
]
WELL_FORMED = ("events.yaml", "small.yaml", "ten_mistakes.yaml")


def typed(value: object) -> object:
    """``value`` with every scalar's type beside it: 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def read(text: str, *, from_bytes: bool | str = False, **options) -> tuple[object, Document | None]:
    """The data, or the error as a reader sees it (message, position, hint, and the value's
    place, which names the record and field); and the document, when the file reads.
    ``from_bytes``: read from the text's bytes by ``load_bytes`` ("mapped": from a mapped
    copy, as ``validate`` holds a large file)."""
    try:
        if from_bytes == "mapped":
            with mapped(text.encode()) as raw:
                doc = load_bytes(raw, Path("events.yaml"))
                if isinstance(doc.text, load.MappedFile):  # (closed next: its bytes kept)
                    doc.text = doc.text[:]
        elif from_bytes:
            doc = load_bytes(text.encode(), Path("events.yaml"))
        else:
            doc = load_text(text, Path("events.yaml"), **options)
    except LoadError as error:
        return ("error", str(error), error.mark, error.hint, error.path), None
    return typed(doc.data), doc


def reading(text: str, **options) -> object:
    return read(text, **options)[0]


def assert_same_reading(text: str, *, from_bytes: bool | str = False) -> Document | None:
    """Both readings agree; the record-by-record document, when the file reads (read from
    the text's bytes with ``from_bytes``)."""
    by_record, doc = read(text, from_bytes=from_bytes, record_by_record=True)
    assert by_record == reading(text)
    return doc


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_input_file_reads_the_same_record_by_record(path: Path) -> None:
    try:
        text = decode(path.read_bytes())
    except LoadError:
        return  # not UTF-8: refused before any parser sees it
    for from_bytes in (False, True, "mapped"):
        doc = assert_same_reading(text, from_bytes=from_bytes)
        if path.name in WELL_FORMED:  # the record-by-record path is the path of a curated file
            assert doc is not None and doc.pieces is not None and doc.root is None
            assert isinstance(doc.text, bytes) == bool(from_bytes)  # no text of the whole file


def test_a_generated_file_is_read_record_by_record_and_the_same() -> None:
    doc = assert_same_reading(realistic_yaml(300, seed=3))
    assert doc is not None and doc.pieces is not None and len(doc.pieces.items["events"]) == 300


EDITED = realistic_yaml(12, seed=9)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, from_bytes=st.sampled_from([False, True, "mapped"]))
# found against rapidyaml, which read them otherwise than PyYAML: a stray bracket before a
# key, a comment in a flow mapping, text after a block scalar's header
@example(edits=[(0.5, 5), (0.0625, "]")], from_bytes=False)
@example(edits=[(0.5, 5), (0.0625, "]")], from_bytes=True)
@example(edits=[(0.3, "{actor: x # note, role: y}\n")], from_bytes=False)
@example(edits=[(0.3, "{actor: x # note, role: y}\n")], from_bytes=True)
@example(edits=[(0.6, "quote: >  - -\n")], from_bytes=False)
@example(edits=[(0.6, "quote: >  - -\n")], from_bytes=True)
def test_any_edit_reads_the_same_record_by_record(edits, from_bytes) -> None:
    """Stray brackets, comments, quotes, block headers, indentation: whatever the edit,
    the two readings agree (a piece that is not a record is read with the whole file),
    from the text or from its bytes."""
    assert_same_reading(edited(EDITED, edits), from_bytes=from_bytes)


@pytest.mark.parametrize(
    "text",
    [
        "events:\n  - id: a\n    title: 'runs on\n  - id: b'\n",  # a quote across the cut
        "events:\n  - {id: a, title: [x,\n  - y]}\n",  # a flow collection across the cut
        "events:\n  - id: a\n    notes: |\n  - not an item\n",  # a block scalar's end
        "events:\n  - &a {id: a}\n  - *a\n",  # an alias between records
        "events:\n  - &a {id: a}\n  - &a {id: b}\n",  # one anchor named twice (refused)
        "---\nevents:\n  - id: a\n",  # text before the first key
        "events:\n  - id: a\nevents:\n  - id: b\n",  # a key written twice
        "events: []\n---\nother: 1\n",  # a second document
    ],
)
def test_what_does_not_read_alone_is_read_whole(text: str, monkeypatch) -> None:
    assert_same_reading(text)
    tries = []  # from the bytes: tried record by record once, then read whole
    real = load.read_records
    monkeypatch.setattr(load, "read_records", lambda *a: tries.append(1) or real(*a))
    assert_same_reading(text, from_bytes=True)
    assert tries == [1]


def _where(marks: dict) -> dict:
    return {path: (m.line, m.column, m.index) for path, m in marks.items()}


@pytest.mark.parametrize(
    ("name", "from_bytes"),
    [(name, how) for name in ("events.yaml", "tests/data/ten_mistakes.yaml", "generated")
     for how in (False, True)]
    # (the generated file's text has the real file's kinds of characters, in less time)
    + [("tests/data/ten_mistakes.yaml", "mapped"), ("generated", "mapped")],
)  # fmt: skip
def test_a_position_read_record_by_record_is_the_whole_files_mark(name, from_bytes) -> None:
    """Each position is the whole file's mark; from the bytes, its index is a byte offset
    (the real file's non-ASCII text tells characters and bytes apart). From a mapped copy,
    the pages given back once read are read again for each position."""
    text = realistic_yaml(40, seed=5) if name == "generated" else (ROOT / name).read_text("utf-8")
    held = ExitStack()
    if from_bytes == "mapped":
        records = load_bytes(held.enter_context(mapped(text.encode())), Path(name))
        assert isinstance(records.text, load.MappedFile)
    elif from_bytes:
        records = load_bytes(text.encode(), Path(name))
    else:
        records = load_text(text, Path(name), record_by_record=True)
    whole = load_text(text, Path(name))
    assert records.root is None and whole.root is not None
    paths = list(whole.values)
    paths = paths[:: max(1, len(paths) // 1500)]  # every value of a small file, a sample else
    absent = [("events", 10**6), ("events", 0, "no-such-field"), ("nowhere",), ("events", "x")]
    # the bytes before each character (from the bytes, an index is a byte offset)
    offset = [0, *itertools.accumulate(len(c.encode()) for c in text)] if from_bytes else None
    for path in [(), *paths, *absent]:
        for key in (False, True):
            expected, got = whole.node_mark(path, key=key), records.node_mark(path, key=key)
            index = expected and (offset[expected.index] if offset else expected.index)
            assert (got and (got.line, got.column, got.index)) == (
                expected and (expected.line, expected.column, index)
            ), (path, key)
            assert records.mark(path, key=key) == whole.mark(path, key=key)
    for table in ("keys", "values"):  # composed whole when every position is asked for
        if from_bytes:
            with pytest.raises(TypeError, match="read its text"):
                getattr(records, table)
        else:
            assert _where(getattr(records, table)) == _where(getattr(whole, table))
    held.close()


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_says_the_same_read_record_by_record(path: Path) -> None:
    try:
        text = decode(path.read_bytes())
        whole = validate_document(load_text(text, path))
    except LoadError:
        return  # an error is the whole file's reading (test above)
    records = validate_document(load_text(text, path, record_by_record=True))
    assert [str(p) for p in records.problems] == [str(p) for p in whole.problems]
    from_bytes = validate_bytes(path.read_bytes(), path)  # as validate and build read it
    assert [str(p) for p in from_bytes.problems] == [str(p) for p in whole.problems]
    with mock.patch.object(load, "MAPPED_BYTES", 0):  # as validate reads a large file
        from_copy = validate_file(path)
    assert [str(p) for p in from_copy.problems] == [str(p) for p in whole.problems]


# -- two readers: a large file's later half is parsed by a forked process ------------------


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "an error in the later half"])
def test_two_readers_read_as_one(monkeypatch, broken):
    """With the later half of the records read by a second process, the data, the places
    and the errors are the one reader's, and no process is left behind."""
    text = realistic_yaml(60, seed=4)
    if broken:  # near the end: in the second reader's half
        at = text.rindex("\n    title: ")
        text = text[:at] + "\n    title: [unclosed" + text[at + len("\n    title: ") :]
    readings = []
    forked = spied_forks(monkeypatch)
    for threshold in (len(text) + 1, 0):  # one reader, then two
        monkeypatch.setattr(load, "PARALLEL_BYTES", threshold)
        try:
            doc = load_text(text, Path("events.yaml"), keep_text=True, record_by_record=True)
            readings.append((typed(doc.data), doc.pieces, doc.root is None))
        except LoadError as exc:
            readings.append(str(exc))
    assert len(forked) == 1  # the second reading, only
    assert readings[0] == readings[1]
    assert isinstance(readings[0], str) == broken
    assert all(reaped(pid) for pid in forked)


# -- a value refused in a record: the whole file's error, without reading the file whole ----

REFUSED = realistic_yaml(40, seed=7)


def _in_event(text: str, nth: int, old: str, new: str) -> str:
    """``text`` with the first ``old`` after the ``nth`` event's start (from 0) made ``new``."""
    start = text.index("\nevents:\n")
    for _ in range(nth + 1):
        start = text.index("\n  - id: ", start + 1)
    at = text.index(old, start)
    return text[:at] + new + text[at + len(old) :]


def _nested(levels: int) -> str:
    """Block mappings ``levels`` deep, as the value of an event's key: the deepest value
    sits ``levels + 3`` levels down in the file (its root, the list, the event, the key)."""
    return "".join(f"\n{' ' * (6 + 2 * i)}k{i}:" for i in range(levels)) + " end"


def test_a_record_nested_to_the_limit_reads_as_in_the_file() -> None:
    """A record read alone is built at its depth in the file: one level deeper than the
    limit is refused as the whole file's reading refuses it, and the level before is not."""
    deepest = load.MAX_DEPTH - 3  # levels that leave the deepest value at MAX_DEPTH
    for levels, refused in ((deepest, False), (deepest + 1, True)):
        text = _in_event(REFUSED, 5, "\n    title: ", f"\n    deep:{_nested(levels)}\n    title: ")
        assert (reading(text)[0] == "error") == refused
        assert_same_reading(text)


def _longest_read(monkeypatch) -> list[int]:
    """The length of every text a loader is made for, from now on."""
    lengths: list[int] = []
    real = load._Loader
    monkeypatch.setattr(load, "_Loader", lambda text: lengths.append(len(text)) or real(text))
    return lengths


@pytest.mark.parametrize(
    "edits",
    [
        [(3, "\n    date: ", "\n    date: 2019-13-45\n    was: ")],  # not a real date
        [(20, "\n    title: ", "\n    count: 0700\n    title: ")],  # an octal number
        [(7, "\n    title: ", "\n    title: x\n    title: ")],  # a key twice (names a line)
        [(12, "\n    summary: ", '\n    summary: "a\\u200bb"\n    was: ')],  # a hidden character
        # two records refused: the whole file's reading says the later one's error
        [
            (2, "\n    date: ", "\n    date: 2019-13-45\n    was: "),
            (30, "\n    title: ", "\n    count: 1_000\n    title: "),
        ],
        [(5, "\n    title: ", f"\n    deep:{_nested(load.MAX_DEPTH - 2)}\n    title: ")],
    ],
    ids=["date", "octal", "key twice", "hidden character", "two records", "too deep"],
)
@pytest.mark.parametrize("readers", [1, 2])
def test_a_refused_value_is_the_whole_files_error_without_the_whole_file(
    monkeypatch, edits, readers
) -> None:
    text = REFUSED
    for nth, old, new in edits:
        text = _in_event(text, nth, old, new)
    whole = reading(text)
    assert whole[0] == "error"
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0 if readers == 2 else len(text) + 1)
    lengths = _longest_read(monkeypatch)
    forked = spied_forks(monkeypatch)
    assert reading(text, record_by_record=True) == whole
    assert max(lengths) < len(text) / 4  # no node graph of the whole file
    assert bool(forked) == (readers == 2)  # the reading, and the pass that finds the record
    assert all(reaped(pid) for pid in forked)
    assert _refusal_of_bytes(text.encode()) == whole  # each piece decoded alone


def _refusal_of_bytes(raw: bytes) -> object:
    """What the pass over a file's bytes says (None: it cannot say), as ``reading`` says it."""
    try:
        load.raise_first_refusal(raw)
    except LoadError as error:
        return ("error", str(error), error.mark, error.hint, error.path)
    return None


@pytest.mark.parametrize(
    "edits",
    [
        # a syntax error in a later record: the whole file composes first, and fails there
        [
            (3, "\n    date: ", "\n    date: 2019-13-45\n    was: "),
            (25, "\n    title: ", "\n    title: [unclosed\n    was: "),
        ],
        # a refused value in a plain list item, built before any record of its list
        [
            (3, "\n    date: ", "\n    date: 2019-13-45\n    was: "),
            (8, "\n  - id: ", "\n  - 0700\n  - id: "),
        ],
    ],
    ids=["a later syntax error", "a plain item"],
)
def test_a_refusal_only_the_whole_file_can_place_is_read_whole(monkeypatch, edits) -> None:
    text = REFUSED
    for nth, old, new in edits:
        text = _in_event(text, nth, old, new)
    whole = reading(text)
    assert _refusal_of_bytes(text.encode()) is None  # the pass over the bytes cannot say
    expected = [str(p) for p in validate_bytes(text.encode(), Path("events.yaml")).problems]
    lengths = _longest_read(monkeypatch)
    assert reading(text, record_by_record=True) == whole
    assert max(lengths) == len(text)  # read whole, as before
    tries = []  # as validate and build take it after a batch met the refused value:
    real = load.read_records  # the pass over the bytes, then the file read whole
    monkeypatch.setattr(load, "read_records", lambda *a: tries.append(1) or real(*a))
    got = validate_bytes(text.encode(), Path("events.yaml"), refused=True)
    assert [str(p) for p in got.problems] == expected and tries == [1]


@pytest.mark.parametrize("where", ["\nevents:", "\n    summary: "], ids=["head", "record"])
def test_a_byte_that_is_not_utf8_leaves_the_refusal_to_the_whole_file(where) -> None:
    """The whole file's decoding refuses a byte that is not UTF-8 before any value is read:
    the pass over the bytes cannot say, wherever the byte is (before the first key too)."""
    text = _in_event(REFUSED, 3, "\n    date: ", "\n    date: 2019-13-45\n    was: ")
    raw = text.encode()
    at = raw.index(where.encode()) if where == "\nevents:" else raw.rindex(where.encode())
    if where == "\nevents:":  # a comment line before the first key
        raw = b"# caf\xe9\n" + raw
    else:
        raw = raw[: at + len(where)] + b"caf\xe9 " + raw[at + len(where) :]
    assert _refusal_of_bytes(raw) is None
    with pytest.raises(LoadError, match="not valid UTF-8"):
        decode(raw)
