"""YAML-level faults: each becomes one located error, never an exception."""

from __future__ import annotations

import pytest

from timeline.load import MAX_ALIAS_EXPANSION, MAX_SCALAR_CHARS
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


def test_missing_file(tmp_path):
    err = single_error(tmp_path / "nope.yaml")
    assert err.message.startswith("cannot read the file")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"\xef\xbb\xbfsources: []\nactors: []\nevents: []\n")
    assert validate_file(path).ok
