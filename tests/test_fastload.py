"""The fast first reading (rapidyaml, timeline/fastload.py) gives exactly PyYAML's values, or
steps aside: on the real file, generated files, every malformed and test input, YAML 1.1's
own forms and random documents PyYAML writes."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from timeline.fastload import NotFast, fast_data, fast_records
from timeline.load import FORBIDDEN_CHARS, LoadError, decode, holds_hidden, load_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import realistic_yaml  # noqa: E402

INPUTS = [
    ROOT / "events.yaml",
    *sorted((ROOT / "tests" / "malformed").iterdir()),
    *sorted((ROOT / "tests" / "data").iterdir()),
]


def typed(value: object) -> object:
    """``value`` with every scalar's type beside it: 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def assert_exact_or_steps_aside(text: str) -> bool:
    """The fast reading, whole and record by record, equals PyYAML's SafeLoader and the
    project's loader, or says NotFast. True when the whole reading answered."""
    answers = []
    for read in (fast_data, lambda t: fast_records(t)[0]):
        try:
            fast = read(text)
        except NotFast:
            answers.append(False)
            continue
        answers.append(True)
        assert typed(fast) == typed(yaml.load(text, Loader=yaml.SafeLoader))
        # never accepts what the project's loader refuses, never reads it otherwise
        assert typed(fast) == typed(load_text(text, Path("<test>")).data)
    return answers[0]


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_input_file_reads_as_pyyaml_reads_it(path: Path) -> None:
    try:
        text = decode(path.read_bytes())
    except LoadError:
        return  # not UTF-8: refused before any parser sees it
    answered = assert_exact_or_steps_aside(text)
    try:
        load_text(text, path)
    except LoadError:
        assert not answered  # the loader's refusal, with its position, stays PyYAML's
    if path.name in ("events.yaml", "small.yaml", "ten_mistakes.yaml"):
        assert answered  # the fast path is the path of a well-formed file


def test_a_generated_file_takes_the_fast_path_and_reads_the_same() -> None:
    assert assert_exact_or_steps_aside(realistic_yaml(300, seed=3))


@pytest.mark.parametrize(
    "text",
    [(ROOT / "events.yaml").read_text(encoding="utf-8"), realistic_yaml(200, seed=4)],
    ids=["events.yaml", "generated"],
)
def test_record_by_record_reading_knows_where_each_record_is(text: str) -> None:
    """Each item's piece starts on the line of its dash, as PyYAML's marks say, and holds
    the item's text; each key's piece starts on the key's line."""
    data, pieces = fast_records(text)
    root = yaml.compose(text, Loader=yaml.CSafeLoader)
    assert list(pieces.sections) == list(data) == [k.value for k, _ in root.value]
    for key_node, value_node in root.value:
        assert pieces.sections[key_node.value].line == key_node.start_mark.line
        items = pieces.items.get(key_node.value, [])
        assert len(items) == (len(value_node.value) if isinstance(value_node.value, list) else 0)
        for piece, node in zip(items, value_node.value, strict=True):
            assert piece.line == node.start_mark.line
            assert piece.start == node.start_mark.index - node.start_mark.column
            assert text[piece.start : piece.end].lstrip().startswith("- ")
    assert sum(len(v) for v in pieces.items.values()) > 100


# Files a cut at the wrong line would misread: each must read as PyYAML reads it, or not fast.
CUT_CASES = [
    'a:\n  - t: "one\n  - two"\n  - three\n',  # a quoted scalar runs over an item's column
    "a:\n  - t: 'one\nb: two'\n",  # ... over a key's column
    "a:\n  - [one,\n  - two]\n",  # a flow list over an item's column
    "a: {b: 1,\nc: 2}\n",
    "a: |\n  - not an item\n  - nor this\nb: 1\n",
    "a:\n  - x: |\n      - text\n  - y\n",
    "a:\n- one\n- two\nb:\n    - three\n    -\n      four: 4\n",  # indentless, deeper
    "a: 1\n  - b\n",
    "a: [1]\n  - b\n",
    "# head\n\na:\n  # lead\n  - 1 # note\n\n  # trailing\nb: 2\n",
    "---\na: 1\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: 1\n...\n",
    "a:\n  - 1\n a: 2\n",
    "a: plain\nmore\n",
    "a:\n  - 1\na:\n  - 2\n",  # a duplicate key
    "a:\n  - 1\n  -",  # an empty last item, no line break at the end
    "a:\n- 1\n-\n- 3\nb: 2",
    "\n\n  # indented comment\na:\n  - 1\n",
    "a:\n  - 1\n   - 2\n",  # a dash one column off
]


@pytest.mark.parametrize("text", CUT_CASES)
def test_cutting_at_a_line_that_is_not_a_record_is_never_a_different_reading(text: str) -> None:
    assert_exact_or_steps_aside(text)


# YAML 1.1 as PyYAML reads it, which the validator relies on: (text, answered by the fast path)
CASES = [
    ("a: yes\nb: No\nc: on\nd: OFF\ne: y\n", True),  # booleans ("y" stays text in PyYAML)
    ("a: 2019-03-01\nb: '2019-03-01'\nc: 2019-3-1\n", True),  # a date, text, text
    ("a: 2019-03-01 10:20:30\nb: 2019-03-01T10:20:30Z\n", True),  # timestamps
    ("a: ~\nb: null\nc:\nd: ''\ne: Null\n", True),
    ("a: 12\nb: -3\nc: 1.5\nd: 1e3\ne: -0.25\nf: '12'\n", True),  # 1e3 is text in YAML 1.1
    ("a: 0700\n", False),  # octal in YAML 1.1: refused by the loader, so left to PyYAML
    ("a: 33:39\n", False),  # base 60
    ("a: 0x1F\nb: 1_000\n", False),
    ("a: .inf\n", False),
    ("a: 2019-02-30\n", False),  # an impossible date: the loader says where
    ('a: "yes"\nb: \'0700\'\nc: "33:39"\n', True),  # quoted: text
    ('a: "tab\\there, \\u00e9, \\x41, \\"q\\" \\\\ \\/"\n', True),
    ("a: |\n  one\n  two\n\nb: >-\n  folded\n  line\n\n  para\nc: |+\n  kept\n\n", True),
    ("a: plain\n  continued\n  lines\nb: 'single\n  quoted'\n", True),
    ("a: [1, two, {b: 3}]\nb: {}\nc: []\n", True),
    ("? a\n: 1\n", True),
    ("a: 1\na: 2\n", False),  # a duplicate key: the loader refuses it with both lines
    ("a: &x 1\nb: *x\n", False),  # anchors and aliases
    ("a: !!str 3\n", False),  # tags
    ("a: {b: 1}\nc:\n  <<: {b: 2}\n", False),  # a merge key
    ("--- 1\n--- 2\n", False),
    ("---\na: 1\n...\n", False),
    ("a: [1, 2\n", False),  # syntax errors: PyYAML's message and position
    ("a:\n\tb: 1\n", False),
    ("", False),
    ("# only a comment\n", False),
    ("- a\n- 1\n", True),
    ("1: a\n", False),  # a key that is not text
    ("a: café — ünïcode ✓\n", True),
]


@pytest.mark.parametrize(("text", "fast"), CASES)
def test_yaml_1_1_forms_read_as_pyyaml_reads_them(text: str, fast: bool) -> None:
    assert assert_exact_or_steps_aside(text) is fast


# Corners of YAML's syntax where two parsers could read the same text apart.
SYNTAX_CORNERS = [
    "a: b#c\nd: e # f\n",
    "a: 'it''s'\n",
    'a: "multi\n  line"\n',
    'a: "x\\\n  y"\n',
    "a: 'a\n\n  b'\n",
    "a: >\n  folded\n   more indented\n  back\n",
    "a: |2\n   indented\n",
    "a: |-\n  x\n\n",
    "a: >+\n  x\n\n\nb: 1\n",
    "a: |\n  text\n # less indented comment\nb: 1\n",
    "a:\n- - nested\n  - seq\n",
    'a: "\\N\\_\\L\\P"\n',
    "a: -1\nb: -.5\nc: +1\nd: 1.0e+3\ne: 1.5E-2\nf: 00\ng: -0\n",
    "a: 12345678901234567890\nb: 2019-01-01t10:00:00\n",
    "a: ~x\nb: NULL\nc: nULL\nd: TRUE\ne: tRUE\n",
    "? |\n  block key\n: v\n",
    "a: [a, b]: c\n",
    "a: !!binary aGk=\n",
]


@pytest.mark.parametrize("text", SYNTAX_CORNERS)
def test_syntax_corners_read_as_pyyaml_reads_them(text: str) -> None:
    assert_exact_or_steps_aside(text)


def test_the_values_are_python_s_own_types() -> None:
    data = fast_data("a: 2019-03-01\nb: yes\nc: 7\nd: 7.5\ne:\n")
    assert data == {"a": dt.date(2019, 3, 1), "b": True, "c": 7, "d": 7.5, "e": None}
    assert type(data["a"]) is dt.date


def test_a_syntax_error_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """rapidyaml's C++ prints its errors on standard error; the user sees PyYAML's only."""
    with pytest.raises(NotFast):
        fast_data("a: [1, 2\n")
    assert capfd.readouterr() == ("", "")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_scalars = st.one_of(
    _text,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dates(),
)


def _nested(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4)


_documents = st.recursive(_scalars, _nested, max_leaves=20).map(lambda data: {"root": data})


@settings(max_examples=300, deadline=None)
@given(
    data=_documents,
    style=st.sampled_from([None, '"', "'", "|", ">"]),
    flow=st.sampled_from([False, True, None]),
    width=st.sampled_from([20, 80]),
)
def test_random_documents_read_as_pyyaml_reads_them(data, style, flow, width) -> None:
    text = yaml.safe_dump(
        data, default_style=style, default_flow_style=flow, width=width, allow_unicode=True
    )
    assert_exact_or_steps_aside(text)


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(), max_size=40))
@example("a lone surrogate \ud800 and é")
@example("crlf\r\n")
def test_holds_hidden_answers_as_searching_the_text_does(text: str) -> None:
    """The quick test for hidden characters (timeline.load.holds_hidden, which the loader and
    the fast path use) agrees with the visible-text rule's own pattern."""
    expected = FORBIDDEN_CHARS.search(text) is not None
    assert holds_hidden(text.encode("utf-8", "surrogatepass")) is expected


def _both(text: str):
    fast = load_text(text, Path("events.yaml"), record_by_record=True)
    slow = load_text(text, Path("events.yaml"))
    assert fast.pieces is not None and fast.root is None  # read record by record
    return fast, slow


@pytest.mark.parametrize("name", ["events.yaml", "tests/data/ten_mistakes.yaml", "generated"])
def test_a_position_read_record_by_record_is_pyyaml_s_mark_in_the_whole_file(name: str) -> None:
    text = realistic_yaml(40, seed=5) if name == "generated" else (ROOT / name).read_text("utf-8")
    fast, slow = _both(text)
    paths = list(slow.values)
    paths = paths[:: max(1, len(paths) // 1500)]  # every value of a small file, a sample else
    absent = [("events", 10**6), ("events", 0, "no-such-field"), ("nowhere",), ("events", "x")]
    for path in [(), *paths, *absent]:
        for key in (False, True):
            expected = slow.node_mark(path, key=key)
            got = fast.node_mark(path, key=key)
            assert (got and (got.line, got.column, got.index)) == (
                expected and (expected.line, expected.column, expected.index)
            ), (path, key)
            assert fast.mark(path, key=key) == slow.mark(path, key=key)
    for table in ("keys", "values"):  # composed whole when every position is asked for
        assert _where(getattr(fast, table)) == _where(getattr(slow, table))


def _where(marks: dict) -> dict:
    return {path: (m.line, m.column, m.index) for path, m in marks.items()}


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_says_the_same_read_record_by_record(path: Path) -> None:
    from timeline.validate import validate_document

    try:
        text = decode(path.read_bytes())
        slow = validate_document(load_text(text, path))
    except LoadError:
        return  # the fast reading steps aside from what PyYAML refuses (test above)
    fast = validate_document(load_text(text, path, record_by_record=True))
    assert fast.problems == slow.problems
    assert typed(fast.dataset.events if fast.dataset else None) == typed(
        slow.dataset.events if slow.dataset else None
    )
