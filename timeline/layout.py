"""The canonical layout of ``events.yaml`` (``timeline fmt``), comments kept.

Records are written with keys in schema order, dates as quoted canonical
strings, short lists and small mappings in flow style, long text folded at
``WIDTH`` columns; events are sorted by date then id. Comments are kept with
what they annotate: the header stays verbatim, a comment line stays in front
of the record or field that follows it, and an end-of-line comment stays on
its field's line (a comment inside a nested list moves up to its field).
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import schema
from .comments import TokenMap, scan_comments
from .dates import parse_date
from .load import Document, LeanResolver, load_text

WIDTH = 100
FOLD_AT = 72
INDENT = "  "


class _FlowMap(dict):
    pass


class _FlowList(list):
    pass


class _Dumper(LeanResolver, yaml.CSafeDumper):
    """libyaml's emitter with the canonical layout's choices (no anchors, _FlowMap/_FlowList
    inline, date- and number-like strings quoted) and the loader's lean resolver. It writes
    a block list under a key "indentless" (``key:\n- item``), which the layout does not;
    ``_block`` splices around it."""

    def ignore_aliases(self, data: object) -> bool:
        return True


_NUMBER_LIKE = re.compile(r"[0-9][0-9?~%/-]*")
_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{n}" for n in ("str", "seq", "map"))


def _str_node(value: str) -> yaml.ScalarNode:
    style = None
    if _NUMBER_LIKE.fullmatch(value):
        style = '"'  # looks like a date or number: keep it text
    elif "\n" in value.rstrip("\n"):
        style = "|"  # several lines: a literal block keeps them as written
    elif (len(value) > FOLD_AT or value.endswith("\n")) and "\n" not in value.rstrip("\n"):
        style = ">"  # long prose: folded block, wrapped at the line width (the emitter
        # picks the chomping indicator that keeps any final newline exactly)
    return yaml.ScalarNode(_STR, value, style=style)


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    if not math.isfinite(value):
        # .inf or .nan would not load again (the loader refuses them): fmt never writes them
        raise LayoutError(f"{value} is not a finite number")
    return dumper.represent_float(value)


# The layout's choices, as representers: what ``_node`` makes directly (and what
# tests/test_layout_emitter.py's oracle makes through PyYAML's generic representer).
_Dumper.add_representer(str, lambda d, v: _str_node(v))
_Dumper.add_representer(float, _represent_float)
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping(_MAP, v, flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence(_SEQ, v, flow_style=True))


def _node(value: object, dumper: _Dumper) -> yaml.Node:
    """The node PyYAML's representer makes of ``value`` (with the layout's choices: no
    aliases, block style but for _FlowMap and _FlowList), made directly for the types a
    record holds: the generic representer was most of ``fmt``'s time."""
    kind = type(value)
    if kind is str:
        return _str_node(value)
    if kind is dict or kind is _FlowMap:
        pairs = [(_node(k, dumper), _node(v, dumper)) for k, v in value.items()]
        return yaml.MappingNode(_MAP, pairs, flow_style=kind is _FlowMap)
    if kind is list or kind is _FlowList:
        items = [_node(v, dumper) for v in value]
        return yaml.SequenceNode(_SEQ, items, flow_style=kind is _FlowList)
    return dumper.represent_data(value)  # numbers, booleans, null, timestamps, anything else


def _ordered(kind: str, raw: dict) -> dict:
    """Keys in schema order (unknown keys last, alphabetically), canonical values."""
    spec = schema.RECORDS[kind]
    known = [k for k in spec if k in raw]  # an empty value stays (the validator reports it)
    # keys of any type (1, true, null) can sit beside misspelt text keys: compare as text
    extra = sorted(
        (k for k in raw if k not in spec), key=lambda k: (not isinstance(k, str), str(k))
    )
    out: dict = {}
    for key in known + extra:
        value = raw[key]
        fld = spec.get(key)
        if fld is not None and fld.type == "date":
            value = _canonical_date(value)
        elif fld is not None and fld.item and isinstance(value, list):
            value = [_ordered(fld.item, v) if isinstance(v, dict) else v for v in value]
            if fld.flow:
                value = [_FlowMap(v) if isinstance(v, dict) else v for v in value]
        elif fld is not None and fld.item and isinstance(value, dict):
            value = _ordered(fld.item, value)
            value = _FlowMap(value) if fld.flow else value
        elif fld is not None and fld.flow and isinstance(value, list):
            value = _FlowList(value)
        out[key] = value
    return out


def canonical_record(kind: str, raw: dict) -> dict:
    """``raw`` as plain data in canonical form: what reading its dumped text gives back."""
    return _plain(_ordered(kind, raw))


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _canonical_date(value: object) -> object:
    try:
        return parse_date(value).canonical
    except ValueError:
        return value  # fmt never fixes data; the validator reports it


def dump_record(kind: str, raw: dict, indent: str = INDENT) -> str:
    """One list item (``- key: value`` …) in canonical layout, indented for its section.

    Example::

        >>> actor = {"name": "Baykar", "id": "baykar", "kind": "company"}
        >>> print(dump_record("actor", actor), end="")
          - id: baykar
            name: Baykar
            kind: company
    """
    return _shifted(_block([_ordered(kind, raw)], WIDTH - len(indent) - 8), indent)


# libyaml writes a list that is a key's value "indentless" (``key:\n- item``); the layout
# indents it (``key:\n  - item``). Whatever holds no such list is written by one call of the
# emitter; around one, the key's line is written here and the list one level deeper, by the
# emitter at a width narrower by that indentation, so that it wraps at the same columns.


def _block(value: list | dict, width: int) -> str:
    """A non-empty block list or mapping at column 0, wrapped to fit ``width`` columns."""
    if _emits_alike(value):
        return _emit(value, width)
    if type(value) is list:
        return "".join(_item(item, width) for item in value)
    out: list[str] = []
    run: dict = {}
    for key, item in value.items():
        if _is_block(item) and not (type(item) is dict and _emits_alike(item)):
            out += [_emit(run, width)] if run else []
            out += [_key_line(key, width), _shifted(_block(item, width - 2), INDENT)]
            run = {}
        else:
            run[key] = item
    out += [_emit(run, width)] if run else []
    return "".join(out)


def _item(item: object, width: int) -> str:
    if _emits_alike(item):
        return _emit([item], width)
    return "- " + _shifted(_block(item, width - 2), INDENT)[2:]


def _is_block(value: object) -> bool:
    """A non-empty list or mapping written in block style (flow ones are _FlowList/_FlowMap)."""
    return type(value) in (list, dict) and bool(value)


def _emits_alike(value: object) -> bool:
    """libyaml writes ``value`` as the layout does: no block list in it is a key's value."""
    if type(value) is dict:
        return all(not (type(v) is list and v) and _emits_alike(v) for v in value.values())
    if type(value) is list:
        return all(_emits_alike(v) for v in value)
    return True


@functools.lru_cache(maxsize=256, typed=True)  # typed: the keys 1 and True differ
def _key_line(key: object, width: int) -> str:
    """``key:`` as the emitter writes a key whose value starts on the next line."""
    return _emit({key: None}, width).removesuffix(" null\n") + "\n"


def _emit(value: object, width: int) -> str:
    """``value`` as one YAML document by libyaml's emitter (``yaml.dump``'s steps, with
    the nodes from ``_node``)."""
    stream = io.StringIO()
    dumper = _Dumper(
        stream, default_flow_style=False, width=width, indent=2, allow_unicode=True, sort_keys=False
    )
    try:
        dumper.open()
        dumper.serialize(_node(value, dumper))
        dumper.close()
    finally:
        dumper.dispose()
    text = stream.getvalue()
    # the emitter ends a document whose last value keeps blank lines with "..."
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


def _shifted(text: str, indent: str) -> str:
    # the emitter writes "\n" only; splitlines() would also split at U+2028. It writes no
    # line of spaces alone (a value with one is quoted), so an empty line stays empty.
    return "\n".join(indent + line if line else line for line in text.split("\n"))


# -- comments ---------------------------------------------------------------


@dataclass
class Comments:
    """Comments of a file, attached to what follows them (or to their line's field)."""

    header: list[str] = field(default_factory=list)
    before: dict[tuple, list[str]] = field(default_factory=lambda: defaultdict(list))
    end_of_line: dict[tuple, list[str]] = field(default_factory=lambda: defaultdict(list))
    trailing: list[str] = field(default_factory=list)


def _anchor_for(path: tuple) -> tuple:
    """Where a comment on ``path`` is kept: a section, a record, or a record's field."""
    return path[:3] if len(path) >= 3 else path


def collect_comments(text: str, doc: Document) -> Comments:
    """Attach every comment of ``text`` to the section, record or field it annotates.

    Comments come from the scanner's tokens (:mod:`timeline.comments`), so a line
    of a block scalar that starts with ``#`` stays text.
    """
    lines = text.splitlines()
    keys: dict[int, tuple] = {}  # 0-based line → the field (or section) a key there belongs to
    for path, mark in doc.keys.items():
        keys.setdefault(mark.line, _anchor_for(path))
    items = {  # 0-based line → record starting there ("- " lines)
        mark.line: path
        for path, mark in doc.values.items()
        if len(path) == 2 and isinstance(path[1], int)
    }
    anchors = keys | items  # a comment line above a record's first line goes before the record
    anchor_lines = sorted(anchors)
    comments = Comments()
    first_anchor = anchor_lines[0] if anchor_lines else len(lines)
    comments.header = lines[:first_anchor]
    for comment in scan_comments(text):
        if comment.line < first_anchor:
            continue  # part of the header, kept verbatim
        if comment.own_line:
            following = bisect.bisect_left(anchor_lines, comment.line)
            if following == len(anchor_lines):
                comments.trailing.append(comment.text)
            else:
                comments.before[anchors[anchor_lines[following]]].append(comment.text)
        else:
            owner = keys.get(comment.line) or items.get(comment.line)
            if owner is None:
                above = bisect.bisect_right(anchor_lines, comment.line) - 1
                owner = _anchor_for(anchors[anchor_lines[above]]) if above >= 0 else ()
            comments.end_of_line[owner].append(comment.text)
    return comments


# -- whole file ---------------------------------------------------------------


def event_order(raw: dict) -> tuple[str, str]:
    """Sort key of an event mapping: chronological, then by id."""
    try:
        key = parse_date(raw.get("date")).sort_key
    except (ValueError, TypeError):
        key = "9999"
    return key, str(raw.get("id", ""))


def format_document(text: str, doc: Document) -> str:
    """The canonical text of a loaded, structurally valid document."""
    comments = collect_comments(text, doc)
    data = doc.data
    out: list[str] = [line + "\n" for line in comments.header]
    for section in schema.SECTIONS:
        kind = schema.SECTION_RECORD[section]
        out += _comment_lines(comments.before.get((section,), []), "")
        if section in schema.OPTIONAL_SECTIONS and section not in data:
            continue
        items = list(enumerate(data.get(section) or []))
        if section == "events":
            items.sort(key=lambda pair: event_order(pair[1]))
        eol = _eol(comments, (section,))
        if not items:
            out.append(f"{section}: []{eol}\n")
            continue
        out.append(f"{section}:{eol}\n")
        for index, raw in items:
            out += _comment_lines(comments.before.get((section, index), []), INDENT)
            out.append(_record_with_comments(kind, raw, (section, index), comments))
    out += _comment_lines(comments.trailing, "")
    return "".join(out)


def _eol(comments: Comments, anchor: tuple) -> str:
    found = comments.end_of_line.get(anchor)
    return "  " + " ".join(found) if found else ""


def _comment_lines(lines: list[str], indent: str) -> list[str]:
    return [f"{indent}{line}\n" for line in lines]


def _record_with_comments(kind: str, raw: dict, anchor: tuple, comments: Comments) -> str:
    """A dumped record with its field comments put back in front of / after each key.

    Key lines come from parsing the dumped record and line ends from its tokens: an
    end-of-line comment goes only where a comment may end a line (after a one-line
    value or a block scalar's indicator), never into a value that continues on the next
    line; there it goes on its own line above the key instead.
    """
    text = dump_record(kind, raw)
    if not _has_comments(comments, anchor):
        return text
    lines = text.splitlines(True)
    dumped = load_text(text, Path("<record>"))
    keys = {mark.line: path[1] for path, mark in dumped.keys.items() if len(path) == 2}
    safe = TokenMap(text).comment_may_end_line
    field_indent = INDENT * 2
    out: list[str] = []
    for number, line in enumerate(lines):
        key = keys.get(number)
        if key is None:
            out.append(line)
            continue
        out += _comment_lines(comments.before.get((*anchor, key), []), field_indent)
        found = comments.end_of_line.get((*anchor, key), [])
        if number == 0:  # the record's own end-of-line comments share its first line
            found = [*found, *comments.end_of_line.get(anchor, [])]
        out += _with_end_comments(line, found, safe(number), field_indent)
    return "".join(out)


def _with_end_comments(line: str, found: list[str], safe: bool, indent: str) -> list[str]:
    """The line with its end-of-line comments, or, where a comment cannot end it (the value
    goes on), those comments on lines of their own above it."""
    if not found:
        return [line]
    if safe:
        return [line.rstrip("\n") + "  " + " ".join(found) + "\n"]
    return [*_comment_lines(found, indent), line]


def _has_comments(comments: Comments, anchor: tuple) -> bool:
    size = len(anchor)
    return any(
        found and key[:size] == anchor
        for table in (comments.before, comments.end_of_line)
        for key, found in table.items()
        if len(key) > size
    ) or bool(comments.end_of_line.get(anchor))


class LayoutError(ValueError):
    """The file's shape is too broken to lay out (the validator says why)."""


def format_text(text: str, path: Path) -> str:
    """The canonical layout of ``text``; raises LoadError or LayoutError.

    Example::

        canonical = format_text(Path("events.yaml").read_text(), Path("events.yaml"))
    """
    doc = load_text(text, path)
    data = doc.data
    if isinstance(data, dict) and any(s in data and data[s] is None for s in schema.SECTIONS):
        raise LayoutError("a section is empty (null) where a list belongs")
    if (
        not isinstance(data, dict)
        or not all(
            isinstance(data.get(s), list | None)
            and all(isinstance(i, dict) for i in data.get(s) or [])
            for s in schema.SECTIONS
        )
        or set(data) - set(schema.SECTIONS)
    ):
        raise LayoutError("the file is not a mapping of sources, actors and events lists")
    return format_document(text, doc)
