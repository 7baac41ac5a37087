"""YAML-level faults: each becomes one located error, never an exception."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from timeline.load import (
    FORBIDDEN_CHARS,
    MAX_ALIAS_EXPANSION,
    MAX_SCALAR_CHARS,
    SHARED_CHARS,
    has_forbidden,
    has_longer_line,
    load_text,
)
from timeline.validate import validate_file

VALID_HEAD = "sources: []\nactors: []\n"


def single_error(path):
    errors = validate_file(path).errors
    assert len(errors) == 1, errors
    return errors[0]


def test_syntax_error_points_at_the_line(write_yaml):
    err = single_error(write_yaml(VALID_HEAD + "events:\n  - id: a\n    title: [unclosed\n"))
    assert err.message.startswith("YAML syntax error")
    assert err.line >= 5


def test_tab_indentation(write_yaml):
    err = single_error(write_yaml(VALID_HEAD + "events:\n\t- id: a\n"))
    assert (err.line, err.column) == (4, 1)
    assert err.message.startswith("YAML syntax error")
    assert err.hint == "this line is indented with a tab; YAML indentation must use spaces"


def test_duplicate_key(write_yaml):
    err = single_error(write_yaml("sources: []\nactors: []\nsources: []\nevents: []\n"))
    assert (err.line, err.column) == (3, 1)
    assert err.message == "duplicate key 'sources' (first written at line 1)"


def test_alias_bomb_is_refused_quickly(write_yaml):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    err = single_error(write_yaml("\n".join(lines) + "\n"))
    assert err.message.startswith("aliases expand to")
    assert err.message.endswith(f"extra values (limit {MAX_ALIAS_EXPANSION:,})")


def test_recursive_alias_is_refused(write_yaml):
    err = single_error(write_yaml("a: &a [1, *a]\n"))
    assert err.message == "a recursive alias (a value that contains itself)"


def test_a_few_aliases_are_fine(write_yaml):
    text = "sources: &none []\nactors: *none\nevents: *none\n"
    assert validate_file(write_yaml(text)).ok


def test_python_tags_are_refused(write_yaml):
    text = VALID_HEAD + "events: !!python/object/apply:os.system ['echo pwned']\n"
    err = single_error(write_yaml(text))
    assert err.line == 3
    assert err.message == "the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"sources: []\nactors: []\nevents:\n  - id: caf\xe9\n")
    err = single_error(path)
    assert (err.line, err.column) == (4, 12)
    assert err.message == "the file is not valid UTF-8 (byte 0xe9)"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(write_yaml, text):
    assert single_error(write_yaml(text)).message == "the file is empty"


def test_huge_scalar(write_yaml):
    text = VALID_HEAD + f"events:\n  - id: {'x' * (MAX_SCALAR_CHARS + 1)}\n"
    err = single_error(write_yaml(text))
    assert err.line == 4 and "characters (limit" in err.message


@pytest.mark.parametrize("block", [False, True])
def test_nesting_past_libyamls_own_limit_gets_the_loaders_message(write_yaml, block):
    """PyYAML's scanner stops at 1,000 levels before the loader counts them, in flow
    brackets and in block indentation alike."""
    if block:
        text = "sources:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1200))
    else:
        text = "sources: " + "[" * 2000 + "]" * 2000 + "\n"
    err = single_error(write_yaml(text))
    assert err.message == "nesting deeper than 32 levels"
    assert err.line == (1000 if block else 1)


@settings(max_examples=examples(300), deadline=None)
@given(
    lines=st.lists(st.integers(min_value=0, max_value=40), min_size=0, max_size=12),
    limit=st.integers(min_value=1, max_value=25),
    final_break=st.booleans(),
)
def test_a_line_longer_than_a_limit_is_found_without_splitting_the_text(lines, limit, final_break):
    """Lines of any lengths around the limit, wherever its blocks fall: the answer is the
    split text's."""
    text = "\n".join("x" * n for n in lines) + ("\n" if final_break else "")
    assert has_longer_line(text, limit) == any(len(line) > limit for line in text.split("\n"))


def test_missing_file(tmp_path):
    err = single_error(tmp_path / "nope.yaml")
    assert err.message.startswith("cannot read the file")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"\xef\xbb\xbfsources: []\nactors: []\nevents: []\n")
    assert validate_file(path).ok


# The loader builds data itself in one pass (checks, positions on demand); it must build
# exactly what PyYAML's safe constructor builds from the same text.
SAME_AS_PYYAML = [
    "a: 1\nb: -2\nc: 0\nd: 30.52\ne: -1.5e+3\n",
    "a: yes\nb: No\nc: TRUE\nd: off\ne: ~\nf: null\ng:\n",
    "a: 2019-05-04\nb: 2019-05-04 10:11:12\nc: '2019-05-04'\n",
    'a: "tab\\tand quote \\" kept"\nb: \'single\'\nc: |\n  # not a comment\n  text\n',
    "2019: year key\n1.5: float key\ntrue: bool key\n",
    "a: &x [1, {b: c}]\nb: *x\nc: [*x, *x]\n",
    "- [a, [b, [c, {d: [e]}]]]\n- {}\n- []\n- ''\n",
    "a: !!str 2019\nb: !!int '7'\nc: !!float '2.5'\nd: !!bool 'yes'\n",
]


@pytest.mark.parametrize("text", SAME_AS_PYYAML)
def test_data_equals_pyyaml_safe_load(text):
    import yaml

    from timeline.load import load_text

    data = load_text(text, Path("x.yaml")).data
    expected = yaml.load(text, Loader=yaml.CSafeLoader)
    assert data == expected
    assert repr(data) == repr(expected)  # same types too (1 == 1.0 == True otherwise)


def test_aliases_share_one_object_like_pyyaml():
    from timeline.load import load_text

    data = load_text("a: &x [1]\nb: *x\n", Path("x.yaml")).data
    assert data["a"] is data["b"]


def test_positions_are_found_on_demand():
    from timeline.load import Mark, load_text

    doc = load_text("events:\n  - id: a\n    tags: [x, y]\n  - id: b\n", Path("x.yaml"))
    assert doc.mark(("events", 0, "tags", 1)) == Mark(3, 15)
    assert doc.mark(("events", 0, "tags"), key=True) == Mark(3, 5)
    assert doc.mark(("events", 1)) == Mark(4, 5)
    # a field that is not there: the closest parent that is
    assert doc.mark(("events", 1, "date")) == Mark(4, 5)
    assert doc.mark(("events", 7, "id")) == Mark(2, 3)  # the list itself
    assert doc.keys[("events", 1, "id")].line == 3 and len(doc.values) == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!bool maybe\n", "'maybe' cannot be read as true or false"),
        ("a: !!timestamp 2019-13-45\n", "'2019-13-45' cannot be read as a real date"),
        ("a: !!int 0x1F\n", "'0x1F' is not a plain decimal number"),
        ('a: "\\x85"\n', "the character U+0085 is not allowed in a value"),
    ],
)
def test_unreadable_scalars_are_located(text, message):
    from timeline.load import LoadError, load_text

    with pytest.raises(LoadError) as caught:
        load_text("b: 1\n" + text, Path("x.yaml"))
    assert caught.value.message.startswith(message)
    assert (caught.value.mark.line, caught.value.mark.column) == (2, 4)


PLAIN_SCALARS = [
    "", "~", "null", "Null", "NULL", "nULL", "yes", "Yes", "y", "n", "On", "oFF", "true",
    "0", "-0", "+1", "0700", "0x1F", "0b101", "1_000", "33:39", "1.5", ".5", "1e3", "1.0e+3",
    ".inf", "-.Inf", ".NaN", "2019", "2019-05-04", "2019-5-4", "2019-05-04 10:11:12",
    "2019-05-04T10:11:12Z", "=", "<<", "-", "-a", ".", "Turkey", "tom", "no way",
]  # fmt: skip


def _tags_ours_and_pyyamls(text: str) -> tuple[list[str], list[str]]:
    """The tags of a list's items, as the project's loader and PyYAML's resolve them."""
    import yaml

    from timeline.load import _Loader

    ours, theirs = _Loader(text), yaml.CSafeLoader(text)
    try:
        got = [node.tag for node in ours.get_single_node().value]
        expected = [node.tag for node in theirs.get_single_node().value]
    finally:
        ours.dispose()
        theirs.dispose()
    return got, expected


def test_tags_are_resolved_like_pyyaml():
    # twice: the second time each tag comes from what the loader remembers of the first
    text = "".join(f"- {value}\n" if value else "- \n" for value in PLAIN_SCALARS) * 2
    text += "- 'quoted'\n- \"2019\"\n- [a]\n- {a: b}\n"
    got, expected = _tags_ours_and_pyyamls(text)
    assert got == expected
    assert len(set(got)) == 10  # str int float bool null timestamp merge value seq map


def test_the_remembered_tags_are_bounded(monkeypatch):
    """The tags are remembered per process, across records: a file of ever new texts keeps
    at most ``_REMEMBERED`` of them, and the texts past that still get their tags."""
    from timeline.load import LeanResolver

    monkeypatch.setattr(LeanResolver, "_tags", {})
    monkeypatch.setattr(LeanResolver, "_REMEMBERED", 5)
    got, expected = _tags_ours_and_pyyamls(
        "".join(f"- {value}\n" for value in [*range(8), "yes", "text"])
    )
    assert got == expected and got[-2:] == ["tag:yaml.org,2002:bool", "tag:yaml.org,2002:str"]
    assert list(LeanResolver._tags) == ["0", "1", "2", "3", "4"]


# -- the visible-text rule ---------------------------------------------------------------------
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u2060", "\u00ad",
             "\ufeff", "\u180e", "\U000e0001", "\U000e0041", "\U000e007f",
             "\U000e0000"]  # fmt: skip


def test_the_visible_text_rule_is_unicodes_invisible_characters():
    """FORBIDDEN_CHARS lists ranges; Python's Unicode database says which characters are
    controls (Cc), format characters (Cf), separators of lines and paragraphs (Zl, Zp) or
    surrogates (Cs). A newer Unicode adding format characters fails here until they are added."""
    for code in range(0x110000):
        char = chr(code)
        invisible = unicodedata.category(char) in ("Cf", "Cs", "Zl", "Zp") or (
            unicodedata.category(char) == "Cc" and char not in "\t\n"
        )
        invisible = invisible or 0xE0000 <= code <= 0xE007F  # the whole tag block
        assert bool(FORBIDDEN_CHARS.fullmatch(char)) == invisible, f"U+{code:04X}"
        assert has_forbidden(f"a{char}b") == invisible, f"U+{code:04X}"


@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_is_refused_raw_or_escaped(write_yaml, char):
    small = (Path(__file__).parent / "data" / "small.yaml").read_text(encoding="utf-8")
    escaped = json.dumps(char)[1:-1] if ord(char) < 0x10000 else f"\\U{ord(char):08X}"
    for quote in (f"Russia{char} suspended", f'"Russia{escaped} suspended"', char * 3,
                  f'"{escaped * 3}"'):  # fmt: skip
        text = small.replace("quote: Russia suspended all flights.", f"quote: {quote}")
        (error,) = validate_file(write_yaml(text)).errors
        assert f"U+{ord(char):04X} is not allowed in a value" in error.message
        assert error.line == text[: text.index(f"quote: {quote}")].count("\n") + 1


@pytest.mark.parametrize("record_by_record", [False, True], ids=["whole", "record by record"])
def test_a_short_text_is_kept_once_however_often_it_is_written(record_by_record):
    """Keys and short values (ids, roles, statuses) repeat in every record: each is one
    object, in whichever record it is read; a long text is kept as read."""
    long = "a long summary " * 10
    records = "".join(
        f"  - id: e{i}\n    status: confirmed\n    summary: {long}\n" for i in range(3)
    )
    doc = load_text(f"events:\n{records}", Path("events.yaml"), record_by_record=record_by_record)
    first, *others = doc.data["events"]
    for other in others:
        assert other["status"] is first["status"]
        assert all(a is b for a, b in zip(other, first, strict=True))  # the keys
        assert other["summary"] == first["summary"] and len(first["summary"]) > SHARED_CHARS
    assert others[0]["summary"] is not others[1]["summary"]
