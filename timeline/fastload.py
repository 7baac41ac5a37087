"""A fast first reading of YAML with rapidyaml, exact wherever it answers.

rapidyaml (C++, the ``rapidyaml`` package, module ``ryml``) builds its tree of a file several
times faster than libyaml composes PyYAML's node graph, in a fraction of the memory, and it
keeps what PyYAML's YAML 1.1 rules need: each scalar's style (plain, quoted, block), its tag
and anchors. A plain scalar's type is resolved here by PyYAML's own implicit-resolver table
and built by PyYAML's own constructor, so ``0700`` is octal, ``33:39`` base 60, ``yes`` true
and ``2019-03-01`` a ``datetime.date``, as PyYAML reads them.

The fast path answers only what it can answer exactly. Anything else raises ``NotFast`` and
the caller reads the same text with PyYAML (``timeline.load``), which gives the exact value,
or the exact error with its line and column: a syntax error (rapidyaml's messages and
positions are not libyaml's), more than one document, a tag, an anchor or alias, a mapping
or list as a key, a duplicate or merge key, nesting deeper than ``MAX_DEPTH``, and every
value the project's loader refuses (hidden characters, oversized values, number forms nobody
means, dates and booleans their tag cannot represent). ``tests/test_fastload.py`` holds the
results to PyYAML's SafeLoader on the real file, generated files and every malformed input.

Example::

    try:
        data = fast_data(text)      # plain Python data, as the loader would build it
    except NotFast:
        data = load_text(text, path).data
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import ryml
import yaml

from .load import (
    FORBIDDEN_CHARS,
    MAX_DEPTH,
    MAX_SCALAR_CHARS,
    PLAIN_FLOAT,
    PLAIN_INT,
    holds_hidden,
)

# rapidyaml's node type bits (ryml.NodeType): container kinds, and what marks a node as one
# the fast path leaves to PyYAML (tags, anchors, references, a missing key or value).
_MAP, _SEQ = ryml.MAP, ryml.SEQ
_DOCUMENTS = ryml.DOC | (ryml.STREAM & ~ryml.SEQ)  # a stream of documents, or an explicit one
_KEY_PLAIN, _VAL_PLAIN, _VAL_DQUO = ryml.KEY_PLAIN, ryml.VAL_PLAIN, ryml.VAL_DQUO
_KEY_DQUO, _VALNIL = ryml.KEY_DQUO, ryml.VALNIL
_REFUSED = (
    ryml.KEYTAG | ryml.VALTAG | ryml.KEYANCH | ryml.VALANCH | ryml.KEYREF | ryml.VALREF
) | ryml.KEYNIL
_NONE = ryml.NONE

_STR = "tag:yaml.org,2002:str"
_NUMBER_FORMS = {"tag:yaml.org,2002:int": PLAIN_INT, "tag:yaml.org,2002:float": PLAIN_FLOAT}
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
# A plain scalar's value depends on its text alone, every value built from one is immutable,
# and records repeat the same short texts (keys, roles, dates, ids of states): each is
# resolved once, across the records of a file read one by one.
_PLAIN: dict[str, object] = {}
_REMEMBERED_CHARS = 64
_REMEMBERED_TEXTS = 200_000


class NotFast(Exception):
    """The fast path cannot answer this text exactly: read it with PyYAML."""


def fast_data(text: str) -> object:
    """The Python data PyYAML's safe loading (and the project's checks) give for ``text``.

    Raises NotFast where that is not certain; never a different value.
    """
    _check_characters(text)
    return _parsed(text.encode(), 0)


def _check_characters(text: str) -> None:
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: PyYAML's reader says where
        raise NotFast("a character the fast path leaves to PyYAML") from None
    if b"\t" in encoded or holds_hidden(encoded):
        # Raw hidden characters and tabs: PyYAML's reader and scanner say where (and rapidyaml
        # reads a tab in places libyaml refuses it).
        raise NotFast("a character the fast path leaves to PyYAML")


def _parsed(encoded: bytes, depth: int) -> object:
    """One text's data, read by rapidyaml; ``depth``: the nesting its root has in the file."""
    try:
        with _quiet_stderr():
            tree = ryml.parse_in_arena(encoded)
    except Exception:  # rapidyaml's parse errors: PyYAML gives the exact message and mark
        raise NotFast("a syntax error, or YAML rapidyaml does not read") from None
    return _Builder(tree).document(depth)


@dataclass(frozen=True)
class Piece:
    """A stretch of the file read alone: its first character and its (0-based) first line."""

    start: int
    end: int
    line: int


@dataclass
class Pieces:
    """Where each top-level key and each item of a top-level block list was read from."""

    sections: dict[str, Piece] = field(default_factory=dict)
    items: dict[str, list[Piece]] = field(default_factory=dict)


# The lines a record-by-record reading is cut at: a top-level key (a line that starts with
# neither a space, a comment nor a dash), or an item's dash (its column is the list's).
# Each pattern starts with the line break before the line: a fixed first character lets the
# regular-expression engine skip to the next one at C speed (a "^" is tried at every place).
_SECTION_LINE = re.compile(r"\n(?=[^\s#-])")
_FIRST_SECTION = re.compile(r"[^\s#-]")
_ITEM_LINE = re.compile(r"\n( *)-(?=[ \n]|\Z)")
_BLANK_OR_COMMENTS = re.compile(r"(?:[ ]*(?:#[^\n]*)?\n)*[ ]*(?:#[^\n]*)?")


@functools.cache
def _item_lines(column: int) -> re.Pattern[str]:
    """The lines that start an item of a list whose dashes are at ``column``."""
    return re.compile("\n" + " " * column + r"-(?=[ \n]|\Z)")


def fast_records(text: str) -> tuple[dict, Pieces]:
    """The data of a file whose root is a mapping, read key by key and list item by list item,
    so that no parser holds more than one record; and where each was read from.

    The file is cut before each top-level key's line and each item's dash at its list's
    column, and every piece is parsed alone. A piece that parses alone as one whole key or
    one whole item reads as it does in the file: a block value (a list item's fields, a block
    scalar, a plain scalar's next lines) is indented past the dash or the key, so a line at
    their column ends it; only a quoted scalar or a flow collection can run on across such a
    line, and cut there, the piece before ends inside it, which is a syntax error (NotFast).
    Anything else (text before the first key, a piece that is not one key or one item, a list
    item after a key with a value) is NotFast as well.
    """
    _check_characters(text)
    starts = [m.start() + 1 for m in _SECTION_LINE.finditer(text)] + [len(text)]
    if _FIRST_SECTION.match(text):
        starts.insert(0, 0)
    if len(starts) == 1 or not _BLANK_OR_COMMENTS.fullmatch(text, 0, starts[0]):
        raise NotFast("no key, or text before the first key")
    data: dict = {}
    pieces = Pieces()
    line = text.count("\n", 0, starts[0])
    for start, end in itertools.pairwise(starts):
        key, value, items = _section(text, start, end, line)
        if key in data:
            raise NotFast("a duplicate key")
        data[key] = value
        pieces.sections[key] = Piece(start, end, line)
        if items is not None:
            pieces.items[key] = items
        line += text.count("\n", start, end)
    return data, pieces


def _section(text: str, start: int, end: int, line: int) -> tuple[str, object, list | None]:
    """One top-level key, its value and, when that is a block list, its items' pieces."""
    first = _ITEM_LINE.search(text, start, end)
    head_end = first.start() + 1 if first else end
    head = _parsed(text[start:head_end].encode(), 0)
    if not isinstance(head, dict) or len(head) != 1:
        raise NotFast("not one key")
    ((key, value),) = head.items()
    if first is None:
        return key, value, None
    if value is not None:
        raise NotFast("a list item after a key with a value")
    column = len(first.group(1))
    same_column = _item_lines(column)
    cuts = [head_end, *(m.start() + 1 for m in same_column.finditer(text, head_end, end)), end]
    values, items = [], []
    line += text.count("\n", start, head_end)
    for item_start, item_end in itertools.pairwise(cuts):
        item = _parsed(text[item_start:item_end].encode(), 1)
        if not isinstance(item, list) or len(item) != 1:
            raise NotFast("not one list item")
        values.append(item[0])
        items.append(Piece(item_start, item_end, line))
        line += text.count("\n", item_start, item_end)
    return key, values, items


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment.

    rapidyaml's C++ error handler prints each parse error to the process's standard error
    before raising; the error the user sees is PyYAML's, from the second reading, so that
    print is noise. The commands that load YAML are single-threaded.
    """
    global _devnull
    if _devnull is None:
        _devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(_devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_devnull: int | None = None  # opened once, on the first parse


class _Builder:
    """Plain Python data from one rapidyaml tree, scalars resolved as PyYAML resolves them.

    Every node costs calls into rapidyaml's bindings; the walk keeps them to the type, the
    key, the value and the next sibling, and handles scalars inline (most nodes are).
    """

    def __init__(self, tree: ryml.Tree):
        self.tree = tree
        self.type_of, self.key_of, self.val_of = tree.type, tree.key, tree.val
        self.first, self.next = tree.first_child, tree.next_sibling

    def document(self, depth: int) -> object:
        root = self.tree.root_id()
        kind = self.type_of(root)
        if kind & (_DOCUMENTS | _REFUSED) or not kind & (_MAP | _SEQ):
            raise NotFast("a stream, a bare scalar, an empty file, a tag or an anchor")
        return self.container(root, kind, depth)

    def container(self, node: int, kind: int, depth: int) -> dict | list:
        if depth >= MAX_DEPTH:
            raise NotFast("nesting too deep")
        is_map = kind & _MAP
        out: dict | list = {} if is_map else []
        type_of, key_of, val_of, following = self.type_of, self.key_of, self.val_of, self.next
        child = self.first(node)
        while child != _NONE:
            kind = type_of(child)
            if kind & _REFUSED:
                raise NotFast("a tag, an anchor or an alias")
            if kind & (_MAP | _SEQ):
                value = self.container(child, kind, depth + 1)
            elif kind & _VALNIL:
                value = None  # an empty value: PyYAML reads the empty plain scalar as null
            else:
                text = str(val_of(child), "utf-8")
                value = _resolved(text) if kind & _VAL_PLAIN else _quoted(text, kind & _VAL_DQUO)
            if is_map:
                self.put(out, key_of(child), kind, value)
            else:
                out.append(value)
            child = following(child)
        return out

    @staticmethod
    def put(out: dict, raw: memoryview | None, kind: int, value: object) -> None:
        if raw is None:
            raise NotFast("a mapping or list as a key")
        text = str(raw, "utf-8")
        key = _resolved(text) if kind & _KEY_PLAIN else _quoted(text, kind & _KEY_DQUO)
        # The loader refuses a duplicate (by its text) and a merge key with a position;
        # PyYAML reads a key that is not text (2019:), which the loader's messages need.
        if text == "<<" or not isinstance(key, str) or key in out:
            raise NotFast("a merge key, a duplicate key or a key that is not text")
        out[key] = value


def _quoted(value: str, double: int) -> str:
    # Only a double-quoted scalar can spell a hidden character with an escape.
    if len(value) > MAX_SCALAR_CHARS or (double and FORBIDDEN_CHARS.search(value)):
        raise NotFast("a value the loader refuses")
    return value


def _resolved(value: str) -> object:
    """A plain scalar's value: PyYAML's implicit tag, PyYAML's constructor."""
    known = _PLAIN.get(value, _PLAIN)
    if known is not _PLAIN:
        return known
    if len(value) > MAX_SCALAR_CHARS:
        raise NotFast("a value the loader refuses")
    tag = next((t for t, p in _IMPLICIT.get(value[:1], ()) if p.match(value)), _STR)
    if tag in _NUMBER_FORMS and not _NUMBER_FORMS[tag].fullmatch(value):
        raise NotFast("a number form the loader refuses")
    try:
        # the tag's constructor itself: construct_object would remember every node
        built = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    except Exception:  # an impossible date, say: the loader says where
        raise NotFast("a value its tag cannot represent") from None
    if len(value) <= _REMEMBERED_CHARS:
        if len(_PLAIN) >= _REMEMBERED_TEXTS:
            _PLAIN.clear()
        _PLAIN[value] = built
    return built
