"""Read ``events.yaml`` safely and remember where every value was written.

PyYAML's C loader composes the node graph once; we walk that graph to record
line/column positions, refuse what a safe curated file never needs (unknown
tags, duplicate keys, alias bombs, huge scalars, deep nesting), and then
construct plain Python data from the same graph.
"""

from __future__ import annotations

import functools
import gc
import itertools
import mmap
import os
import re
import shutil
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, BinaryIO, ClassVar

import yaml

from .forks import can_fork, forked

Path_ = tuple[str | int, ...]

# A hand-written file needs few aliases; a "billion laughs" file expands to millions of nodes.
MAX_ALIAS_EXPANSION = 1_000
MAX_SCALAR_CHARS = 20_000
MAX_DEPTH = 32
# A file repeats its keys and its short values (ids, roles, codes, statuses) hundreds of
# thousands of times: where every record is kept (``load_text``, ``load_bytes``), each text
# this short is kept once per process (``sys.intern``), so the records hold a third less
# memory. A reader that drops each record once checked (the batches, ``fmt``) does not:
# there it would cost a few per cent of the time and save nothing.
SHARED_CHARS = 64
# The "visible text" rule, the one place that says which characters a value may hold:
# every character is visible or ordinary white space. Refused, written raw or escaped, are
# the characters no curated text needs and that hide or disguise text: C0/C1 controls (tab
# and newline excepted), line/paragraph separators (YAML 1.1 line breaks that a round trip
# turns into spaces), every format character (Unicode category Cf: zero-width spaces and
# joiners, the soft hyphen, direction marks, overrides and isolates, the word joiner and
# invisible operators, a stray byte-order mark, tag characters), the rest of the tag
# block U+E0000-U+E007F and lone surrogates. tests/test_load.py compares the set with
# Python's Unicode database.
_FORBIDDEN_BMP = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
    "\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff"
    "\ufeff\ufff9-\ufffb"
)
_FORBIDDEN_ASTRAL = (
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
FORBIDDEN_CHARS = re.compile(f"[{_FORBIDDEN_BMP}{_FORBIDDEN_ASTRAL}]")
# The same search in two: Python's regex engine tests a class that mixes ranges above
# U+FFFF with the others range by range, about three times slower over a record's text
# than the Basic Multilingual Plane's part alone; characters above it are rare.
_FORBIDDEN_IN_BMP = re.compile(f"[{_FORBIDDEN_BMP}]")
_ABOVE_BMP = re.compile("[\U00010000-\U0010ffff]")
_FORBIDDEN_ABOVE_BMP = re.compile(f"[{_FORBIDDEN_ASTRAL}]")


def has_forbidden(text: str) -> bool:
    """Whether ``text`` holds a character of FORBIDDEN_CHARS (quicker than searching it)."""
    if _FORBIDDEN_IN_BMP.search(text):
        return True
    return bool(_ABOVE_BMP.search(text)) and bool(_FORBIDDEN_ABOVE_BMP.search(text))


# The only number forms a curator writes. YAML 1.1 also reads 0700 (octal), 0x7E3,
# 2_019, 33:39 (base 60), +2019, .nan and .inf as numbers: all are refused.
PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
PLAIN_FLOAT = re.compile(r"-?[0-9]{1,18}\.[0-9]{1,18}(?:[eE][-+][0-9]{1,3})?")
_NUMBER_FORMS = {"tag:yaml.org,2002:int": PLAIN_INT, "tag:yaml.org,2002:float": PLAIN_FLOAT}
SAFE_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
}


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in the source file."""

    line: int
    column: int


class LoadError(Exception):
    """The file could not be read as YAML; carries the position of the fault."""

    def __init__(self, message: str, mark: Mark | None = None, hint: str = "", path: Path_ = ()):
        super().__init__(message)
        self.message = message
        self.mark = mark or Mark(1, 1)
        self.hint = hint
        self.path = path  # the value's place in the document, when known

    def __reduce__(self) -> tuple:  # sent whole from a forked process (``forks.in_child``)
        return (type(self), (self.message, self.mark, self.hint, self.path))


@dataclass
class Document:
    """Parsed YAML plus the node graph it came from, for positions.

    Positions are looked up only when a message or an edit needs one: walking
    the path through the node graph is cheap, while recording the position of
    each of a large file's million values up front cost as much as parsing it.
    """

    data: object
    path: Path
    root: yaml.Node | None = None
    aliased: bool = False  # some node is reached twice (its marks are where it was defined)
    # what was parsed (marks index it): the text, or the file's bytes when read record by
    # record from them (``load_bytes``: a mark's index is then a byte offset)
    text: str | bytes | None = field(default=None, repr=False)
    # Read record by record (load_text's record_by_record): no node graph is kept, but
    # where each record is; a position is then composed from the one record that holds it.
    pieces: Pieces | None = field(default=None, repr=False)

    def node_mark(self, path: Path_, *, key: bool = False) -> yaml.Mark | None:
        """PyYAML's (0-based) mark of the value at ``path`` (or of its key), if it exists."""
        if self.root is None and self.pieces is not None:
            return self._piece_mark(path, key)
        node, key_node = self.root, None
        for step in path:
            if isinstance(node, yaml.MappingNode):
                pair = next((p for p in node.value if _key_of(p[0]) == step), None)
                if pair is None:
                    return None
                key_node, node = pair
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    return None
                key_node, node = None, node.value[step]
            else:
                return None
        if node is None:
            return None
        return key_node.start_mark if key and key_node is not None else node.start_mark

    def _piece_mark(self, path: Path_, key: bool) -> yaml.Mark | None:
        """The mark of ``path`` in the whole file, from the one record (or top-level key)
        that holds it: its piece is composed again, and the mark moved to where it starts."""
        pieces, text = self.pieces, self.text
        if not path:
            first = next(iter(pieces.sections.values()))
            return yaml.Mark(str(self.path), first.start, first.line, 0, None, None)
        section, items = pieces.sections.get(path[0]), pieces.items.get(path[0])
        if section is None:
            return None
        if items and len(path) >= 2 and isinstance(path[1], int):
            if not 0 <= path[1] < len(items):
                return None
            piece, inner = items[path[1]], (0, *path[2:])
        elif items and len(path) == 1 and not key:  # the list itself: where its first dash is
            first = items[0]
            column = _indent(text, first.start)
            return yaml.Mark(str(self.path), first.start + column, first.line, column, None, None)
        else:  # the key (without its list's items) and its value
            end = items[0].start if items else section.end
            piece, inner = Piece(section.start, end, section.line), path
        stretch = text[piece.start : piece.end]
        piece_text = stretch if isinstance(stretch, str) else stretch.decode("utf-8")
        mark = Document(None, self.path, _compose(piece_text)).node_mark(inner, key=key)
        if mark is None:
            return None
        index = mark.index if stretch is piece_text else len(piece_text[: mark.index].encode())
        return yaml.Mark(str(self.path), index + piece.start, mark.line + piece.line,
                         mark.column, None, None)  # fmt: skip

    def mark(self, path: Path_, *, key: bool = False) -> Mark:
        """The closest known position for ``path`` (walking up to its parents)."""
        while True:
            found = self.node_mark(path, key=key)
            if found is not None:
                return Mark(found.line + 1, found.column + 1)
            if not path:
                return Mark(1, 1)
            path = path[:-1]

    @property
    def keys(self) -> dict[Path_, yaml.Mark]:
        """The mark of every mapping key, by the path of its value (for layout and comments)."""
        return self._positions[1]

    @property
    def values(self) -> dict[Path_, yaml.Mark]:
        """The mark of every value, by path."""
        return self._positions[0]

    @cached_property
    def _positions(self) -> tuple[dict[Path_, yaml.Mark], dict[Path_, yaml.Mark]]:
        values: dict[Path_, yaml.Mark] = {}
        keys: dict[Path_, yaml.Mark] = {}
        seen: set[int] = set()
        root = self.root
        if root is None and self.pieces is not None:
            if not isinstance(self.text, str):  # (their indexes would be the text's)
                raise TypeError("every position of a file read from its bytes: read its text")
            root = _compose(self.text)  # every position at once: the whole graph
        stack: list[tuple[yaml.Node, Path_]] = [(root, ())] if root else []
        while stack:
            node, path = stack.pop()
            if id(node) in seen:
                continue  # an alias: its target was recorded where it was defined
            seen.add(id(node))
            values[path] = node.start_mark
            if isinstance(node, yaml.SequenceNode):
                stack.extend((child, (*path, i)) for i, child in enumerate(node.value))
            elif isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    child = (*path, _key_of(key_node))
                    keys[child] = key_node.start_mark
                    stack.append((value_node, child))
        return values, keys


def _compose(text: str) -> yaml.Node | None:
    """The node graph of text already read without error (for its marks)."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _indent(text: str | bytes, line_start: int) -> int:
    space = " " if isinstance(text, str) else b" "
    at = line_start
    while text.startswith(space, at):
        at += 1
    return at - line_start


def _key_of(key_node: yaml.Node) -> object:
    return key_node.value if isinstance(key_node, yaml.ScalarNode) else None


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


# How much of a mapped file ``MappedFile.count`` copies out at a time.
COUNT_WINDOW = 16 * 2**20


class MappedFile(mmap.mmap):
    """A file's bytes mapped into memory, read here as ``bytes`` are. Its pages are the
    system's file cache: once read they can be given back (``release``), and are read
    again from the file if a piece is asked for again, for a message's position."""

    def count(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """As ``bytes.count``, a window at a time (no copy of the whole stretch); over more
        than one window, each window's pages are given back once counted (a reader of many
        small stretches gives them back itself, as it goes)."""
        end = len(self) if end is None else min(end, len(self))
        windows = end - start > COUNT_WINDOW
        return _count_by_window(self, sub, start, end, self.release if windows else None)

    def windows(self) -> Iterator[bytes]:
        """The bytes a window at a time, each window's pages given back once it is used."""
        for at in range(0, len(self), COUNT_WINDOW):
            yield self[at : at + COUNT_WINDOW]
            self.release(at, at + COUNT_WINDOW)

    def __contains__(self, sub: bytes) -> bool:
        """As ``sub in bytes`` (mmap's own test reads a byte at a time), the pages given back."""
        found = self.find(sub) != -1
        self.release()
        return found

    def startswith(self, prefix: bytes, start: int = 0) -> bool:
        return self[start : start + len(prefix)] == prefix

    def endswith(self, suffix: bytes) -> bool:
        return self[max(len(self) - len(suffix), 0) :] == suffix

    def decode(self, encoding: str = "utf-8") -> str:
        return self[:].decode(encoding)

    def release(self, start: int = 0, end: int | None = None) -> None:
        """Give back the pages wholly between ``start`` and ``end`` (where the system can)."""
        end = len(self) if end is None else min(end, len(self))
        first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE  # madvise takes whole pages
        if hasattr(mmap, "MADV_DONTNEED") and first < end:
            self.madvise(mmap.MADV_DONTNEED, first, end - first)


class ReadOnDemand:
    """A file's bytes read only where they are asked for, as ``bytes`` gives them (its
    length, slices and ``count``): for a reader that needs a few records of a large file
    and the line breaks before them, not the whole file in memory. ``handle``: the file,
    open for reading in binary."""

    def __init__(self, handle: BinaryIO) -> None:
        self._file = handle
        self._size = os.fstat(handle.fileno()).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, stretch: slice) -> bytes:
        start, stop, step = stretch.indices(self._size)
        if step != 1:
            raise ValueError("only a stretch of the file can be read")
        self._file.seek(start)
        return self._file.read(max(stop - start, 0))

    def count(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """As ``bytes.count``, read a window at a time."""
        end = self._size if end is None else min(end, self._size)
        return _count_by_window(self, sub, start, end)


def _count_by_window(
    text: MappedFile | ReadOnDemand,
    sub: bytes,
    start: int,
    end: int,
    done: Callable[[int, int], None] | None = None,
) -> int:
    """How often ``sub`` occurs in ``text[start:end]``, counted COUNT_WINDOW bytes at a time;
    ``done`` is told each window once it is counted."""
    found, at = 0, start
    while at < end:
        stop = min(at + max(COUNT_WINDOW, len(sub)), end)
        found += text[at:stop].count(sub)
        if done is not None:
            done(at, stop)
        # the next window starts just before the cut, so a match across it is found
        at = max(stop - len(sub) + 1, at + 1) if stop < end else end
    return found


# A file this large is copied aside and mapped to be checked whole, rather than read into
# this process's memory (``mapped_copy``). Below it, the copy costs more than it saves: the
# map's pages come on top of the memory the batches freed, which a read of the file would
# have reused (10,000 generated events, 29 MiB: a peak up to 24 MiB higher for a file with
# a refused date, 10 MiB lower with bad references; 100,000, 290 MiB: 290 MiB lower).
MAPPED_BYTES = 64 * 2**20
COPY_BUFFER = 8 * 2**20


@contextmanager
def mapped_copy(path: Path) -> Iterator[bytes | MappedFile]:
    """The bytes of the file at ``path``, for a reading that keeps every record's data: for
    a large file, a copy in a temporary file, mapped (``MappedFile``), whose pages are
    given back as its records are read, so the file's bytes are not kept beside their data.
    A copy, because a file that an editor rewrites in place while it is mapped would take
    pages from under the map, and reading one then kills the process. A smaller file, one
    that is not a regular file, or one with no room for its copy, is read.
    OSError (the file cannot be read) passes through."""
    with open(path, "rb") as source, ExitStack() as held:
        info = os.fstat(source.fileno())
        large = stat.S_ISREG(info.st_mode) and info.st_size >= MAPPED_BYTES
        write = functools.partial(shutil.copyfileobj, source, length=COPY_BUFFER)
        copy = _mapped(write, held) if large else None
        if copy is None:
            if large:  # (a copy begun)
                source.seek(0)
            yield source.read()
        else:
            yield copy


@contextmanager
def mapped_joined(chunks: Sequence[bytes | memoryview]) -> Iterator[bytes | MappedFile]:
    """The chunks one after another, as ``mapped_copy`` gives a file's bytes: when large,
    written to a temporary file and mapped, so that they are not held beside the data of
    the records read from them; else, or with no room for that file, joined in memory."""
    with ExitStack() as held:
        large = sum(len(chunk) for chunk in chunks) >= MAPPED_BYTES
        copy = _mapped(lambda f: _write_releasing(f, chunks), held) if large else None
        yield b"".join(chunks) if copy is None else copy


def _write_releasing(to: IO[bytes], chunks: Sequence[bytes | memoryview]) -> None:
    """The chunks written; those that are views of a mapped file give its pages back."""
    to.writelines(chunks)
    for chunk in chunks:
        if isinstance(chunk, memoryview) and isinstance(chunk.obj, MappedFile):
            chunk.obj.release()


def _mapped(write: Callable[[IO[bytes]], object], held: ExitStack) -> MappedFile | None:
    """What ``write`` writes to a temporary file (already unlinked where the system allows),
    mapped, and closed as ``held`` is; None when it cannot be (no room, or nothing written)."""
    try:
        with ExitStack() as attempt:
            copy = attempt.enter_context(tempfile.TemporaryFile())
            write(copy)
            copy.flush()
            if not copy.tell():
                return None
            mapped = attempt.enter_context(MappedFile(copy.fileno(), 0, access=mmap.ACCESS_READ))
            held.enter_context(attempt.pop_all())
            return mapped
    except OSError:
        return None


def decode(raw: bytes) -> str:
    """UTF-8 text of the file (BOM dropped); LoadError with the position of a bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise LoadError(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            Mark(line, column),
            "save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


HIDDEN_HINT = (
    "remove it: text must be visible; control and format characters (zero-width spaces, "
    "soft hyphens, direction marks and overrides) and line separators hide or disguise "
    "text (also when written as an escape such as \\e, \\x85 or \\u200B)"
)


def hidden_character(value: str) -> str | None:
    """What is wrong with a value holding a character that hides or disguises text, if any
    (the visible-text rule, FORBIDDEN_CHARS)."""
    bad = FORBIDDEN_CHARS.search(value)
    if not bad:
        return None
    name = unicodedata.name(bad.group(), "") or "a control character"
    return f"the character U+{ord(bad.group()):04X} is not allowed in a value ({name}: not visible)"


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _alias_expansion(root: yaml.Node) -> int:
    """How many values expanding every alias would add to the document (capped)."""
    cap = 10**9
    sizes: dict[int, int] = {}  # finished nodes
    entered: set[int] = set()  # nodes on the current depth-first path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            entered.discard(id(node))
            sizes[id(node)] = min(cap, 1 + sum(sizes[id(c)] for c in _children(node)))
        elif id(node) in entered:
            raise LoadError("a recursive alias (a value that contains itself)", _mark(node))
        elif id(node) not in sizes:
            entered.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)] - len(sizes)


def _syntax_hint(text: str, where: Mark) -> str:
    lines = text.splitlines()
    line = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
    if "\t" in line[: len(line) - len(line.lstrip())]:
        return "this line is indented with a tab; YAML indentation must use spaces"
    return "check the indentation and quoting on this line and the one before"


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Loading and checking a large file creates hundreds of thousands of
    long-lived objects and no cycles worth collecting; the collector's repeated
    full passes over them would triple the time taken.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class LeanResolver:
    """PyYAML's tag resolution, leaner, for a C loader or dumper class to inherit first.

    libyaml's composer calls ``resolve`` once per node, and its serializer twice per
    scalar (is the tag implicit, plain and quoted?); PyYAML's generic version (path
    resolvers, a list built per call) was a fifth of composing a large file. This one
    reads the same implicit-resolver table and answers the same tags: a plain scalar gets
    the first tag whose pattern matches (PyYAML's own patterns, applied as PyYAML applies
    them), anything else the default tag.
    """

    _implicit: ClassVar = yaml.resolver.Resolver.yaml_implicit_resolvers
    _defaults: ClassVar = {
        yaml.ScalarNode: yaml.resolver.Resolver.DEFAULT_SCALAR_TAG,
        yaml.SequenceNode: yaml.resolver.Resolver.DEFAULT_SEQUENCE_TAG,
        yaml.MappingNode: yaml.resolver.Resolver.DEFAULT_MAPPING_TAG,
    }

    # A plain scalar's tag depends on its text alone, and a file repeats the same short
    # texts (keys, ids, roles, dates) hundreds of thousands of times: each is matched once
    # per process, whichever record it is in (a loader reads one record). Longer texts are
    # mostly unique and are matched each time; the first REMEMBERED texts are kept, so the
    # memory is bounded whatever the file's size.
    _REMEMBERED_CHARS: ClassVar = 64
    _REMEMBERED: ClassVar = 2**16
    _tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = self._implicit_tag(value)
                if len(value) <= self._REMEMBERED_CHARS and len(self._tags) < self._REMEMBERED:
                    self._tags[value] = tag
            return tag
        return self._defaults[kind]

    def _implicit_tag(self, value: str) -> str:
        for tag, pattern in self._implicit.get(value[:1], ()):
            if pattern.match(value):
                return tag
        return self._defaults[yaml.ScalarNode]


class _Loader(LeanResolver, yaml.CSafeLoader):
    """PyYAML's C loader with the lean resolver."""


assert not yaml.resolver.Resolver.yaml_path_resolvers and None not in LeanResolver._implicit


def load_text(
    text: str,
    path: Path,
    *,
    keep_text: bool = False,
    record_by_record: bool = False,
) -> Document:
    """Parse YAML text into a Document; raises LoadError with a position.

    ``keep_text``: the document keeps the text (its marks index it) for a caller that
    needs both; otherwise the text is not held beyond the caller's own reference.
    ``record_by_record``: read each top-level key and each item of a top-level list alone
    (``read_records``), so no node graph holds more than one record; the document keeps
    the text and where each record is, and composes a record again when a message asks
    for a position in it. A file that cannot be read so (an error anywhere, an alias, text
    before the first key) is read whole, as without it: the same data or the same error.
    """
    refuse_deep_nesting(text)
    doc = _read_by_record(text, path) if record_by_record else None
    if doc is not None:
        return doc
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise LoadError("the file is empty", hint="start from the template in the README")
        data, aliased = _construct(root, text, shared=True)
        kept = text if keep_text else None
        return Document(data=data, path=path, root=root, aliased=aliased, text=kept)
    except yaml.reader.ReaderError as exc:
        where = _position(text, exc.position)
        raise LoadError(
            f"the character U+{_code(exc.character):04X} is not allowed in YAML",
            where,
            "remove it; control characters and NUL bytes have no place in the file",
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(text, exc) from None
    except yaml.YAMLError as exc:
        raise LoadError(f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def load_bytes(raw: bytes, path: Path, *, keep_text: bool = False) -> Document:
    """``load_text(decode(raw), path, record_by_record=True)``, without a text of the whole
    file when it reads record by record: each record's bytes are decoded and read alone,
    and the document keeps the bytes (a position composes its record's bytes again). A file
    that does not read so is decoded and read whole, as ``load_text`` reads it then
    (``keep_text``): its text is cut at the same places, so it would not read so either.
    """
    doc = _read_by_record(raw, path)
    if doc is not None:
        return doc
    return load_text(decode(raw), path, keep_text=keep_text)


def _read_by_record(file: str | bytes, path: Path) -> Document | None:
    """The document of a file read record by record, from its text or from its bytes (each
    record decoded alone); None when it does not read so. A record's refused value raises
    the whole file's error when ``raise_first_refusal`` can say which."""
    read = _read_shared if isinstance(file, str) else _read_shared_bytes
    try:
        data, pieces = read_records(file, read)
    except _Refused:  # a record's value: refused as the whole file's reading would be
        raise_first_refusal(file)
        return None
    except _ReadWhole:
        return None
    return Document(data=data, path=path, text=file, pieces=pieces)


@dataclass(frozen=True)
class Piece:
    """A stretch of the file read alone: its first character, its end and (0-based) first line."""

    start: int
    end: int
    line: int


@dataclass
class Pieces:
    """Where each top-level key and each item of a top-level block list was read from."""

    sections: dict[str, Piece] = field(default_factory=dict)
    items: dict[str, list[Piece]] = field(default_factory=dict)


class _ReadWhole(ValueError):
    """The file is read whole instead (an error, an alias, a piece that is not a record)."""


class _Refused(_ReadWhole):
    """A piece that composes alone, one list item (a mapping or a list), whose values the
    loader refuses (a date that is not one, a number form, a key written twice, a hidden
    character)."""


# Where a file is cut to be read record by record: before a top-level key's line (one
# that starts with neither a space, a comment nor a dash), and before each dash of a
# top-level list at its own column. Each pattern starts with the line break: a fixed first
# character lets the regular-expression engine skip to the next one at C speed.
# The patterns are ASCII, so that a file's bytes and its text cut at the same places
# (``timeline.spans`` cuts the bytes).
_CUTS = {
    "section": r"\n(?=[^\s#-])",
    "first": r"[^\s#-]",
    "item": r"\n( *)-(?=[ \n]|\Z)",
    "blank": r"(?:[ ]*(?:#[^\n]*)?\n)*[ ]*(?:#[^\n]*)?",
}


@functools.cache
def cut_pattern(name: str, of: type) -> re.Pattern:
    pattern = _CUTS[name] if of is str else _CUTS[name].encode()
    return re.compile(pattern, re.ASCII)


def read_records(
    text: str | bytes, read: Callable[[str], object] | None = None
) -> tuple[dict, Pieces]:
    """The data of a file whose root is a mapping, each top-level key and each item of a
    top-level block list read alone by the same loader, and where each was read from.
    ``read``: what reads each piece, ``read_piece`` unless given. The file may be given as
    its bytes (``read`` then takes each piece's bytes; the lines before the first key must
    be UTF-8, or ``_ReadWhole``).

    A piece cut at a line that is not the start of a record (inside a quoted scalar or a
    flow collection running across lines) does not parse alone, and the file is read whole
    (``_ReadWhole``); so does any piece with an error, an alias or not exactly one key or
    item. A block value always ends at a line indented like its key or dash, so a piece
    that parses alone reads as it does in the file.
    """
    starts = section_starts(text)
    newline = "\n" if isinstance(text, str) else b"\n"
    if not isinstance(text, str):
        decode_piece(text[: starts[0]])
    sections = record_cuts(text, starts)
    stretches = [stretch for start, _, cuts in sections
                 for stretch in [(start, cuts[0]), *itertools.pairwise(cuts)]]  # fmt: skip
    line = text.count(newline, 0, starts[0])
    breaks = iter([text.count(newline, a, b) for a, b in stretches])  # each stretch's lines
    if isinstance(text, MappedFile):  # every page was read to cut and count: given back,
        text.release()  # each is read again with its piece
    results = iter(map_stretches(read or read_piece, text, stretches))
    data: dict = {}
    pieces = Pieces()
    for start, end, cuts in sections:
        key, value = one_key(next(results))
        if key in data:
            raise _ReadWhole("a duplicate key")
        data[key] = value
        pieces.sections[key] = Piece(start, end, line)
        line += next(breaks)
        if len(cuts) == 1:
            continue
        if value is not None:
            raise _ReadWhole("a list item after a key with a value")
        data[key], pieces.items[key] = [], []
        for item_start, item_end in itertools.pairwise(cuts):
            data[key].append(one_item(next(results)))
            pieces.items[key].append(Piece(item_start, item_end, line))
            line += next(breaks)
    return data, pieces


def record_cuts(text: str | bytes, starts: list[int]) -> list[tuple[int, int, list[int]]]:
    """Each top-level key's stretch (``section_starts``) as (start, end, its ``item_cuts``):
    the key's own lines run from ``start`` to the first cut, each item between two cuts."""
    return [(start, end, item_cuts(text, start, end)) for start, end in itertools.pairwise(starts)]


def one_item(piece: object) -> object:
    """The record of an item's piece read alone (``_ReadWhole`` if it is not one list
    item)."""
    if not isinstance(piece, list) or len(piece) != 1:
        raise _ReadWhole("not one list item")
    return piece[0]


def one_key(head: object) -> tuple[str, object]:
    """The key and value of a top-level key's piece read alone (``_ReadWhole`` if it is not
    one key)."""
    if not isinstance(head, dict) or len(head) != 1 or not isinstance(next(iter(head)), str):
        raise _ReadWhole("not one key")
    ((key, value),) = head.items()
    return key, value


# A file this large is read by two processes, each parsing about half of its bytes (the
# parse is most of validate's and build's time: 2.1 s alone, 1.3 s shared, at 10,000
# events); below it, starting a process costs more than it saves. Where a process cannot be
# forked (Windows), the file is read by one.
PARALLEL_BYTES = 4 * 2**20


def map_stretches(read: Callable, text: str | bytes, stretches: list[tuple]) -> list:
    """``read(text[a:b], *more)`` for each stretch ``(a, b, *more)``, in order; the later
    half (by length) in a forked reader when the text is large and processes can be
    forked."""
    lengths = list(itertools.accumulate(b - a for a, b, *_ in stretches))
    total = lengths[-1] if lengths else 0
    if total < PARALLEL_BYTES or not can_fork():
        return _read_releasing(read, text, stretches)
    half = next(i for i, length in enumerate(lengths) if length >= total // 2)

    # One message of the whole half: the reader sends it once it has read it all, so that
    # it reads while this process reads the first half (a message the size of a pipe's
    # buffer would wait there until this process reads it, after its own half)
    def later_half() -> Iterator[list]:
        yield _read_releasing(read, text, stretches[half + 1 :])

    with forked([later_half], ahead=1) as (later,):
        first = _read_releasing(read, text, stretches[: half + 1])
        return first + next(later)


# How much of a mapped file is read between two releases of the pages read so far
# (``MappedFile.release``; an unmapped text is read straight through).
RELEASE_BYTES = 16 * 2**20


def _read_releasing(read: Callable, text: str | bytes, stretches: list[tuple]) -> list:
    """``read`` of each stretch in order; a mapped file's pages given back as it goes."""
    if not isinstance(text, MappedFile):
        return [read(text[a:b], *more) for a, b, *more in stretches]
    start = released = stretches[0][0] if stretches else 0
    results: list = []
    for a, b, *more in stretches:
        results.append(read(text[a:b], *more))
        if b - released >= RELEASE_BYTES:
            # from the start: reading a page can bring its neighbours, before it too
            text.release(start, b)
            released = b
    text.release(start)
    return results


def section_starts(text: str | bytes, end: int | None = None) -> list[int]:
    """Where ``read_records`` cuts a file (its text or its bytes, up to ``end``) into its
    top-level keys: where each key's line starts, then ``end``. Raises _ReadWhole when
    there is no key, or text that is not a comment before the first one."""
    of, end = type(text), len(text) if end is None else end
    starts = [m.start() + 1 for m in cut_pattern("section", of).finditer(text, 0, end)] + [end]
    if cut_pattern("first", of).match(text, 0, end):
        starts.insert(0, 0)
    if len(starts) == 1 or not cut_pattern("blank", of).fullmatch(text, 0, starts[0]):
        raise _ReadWhole("no key, or text before the first key")
    return starts


def item_cuts(text: str | bytes, start: int, end: int) -> list[int]:
    """Where ``read_records`` cuts one top-level key's stretch: where the items of its block
    list start (at the first item's column), then the stretch's end; only the end when the
    key holds no block list. Before the first cut are the key's own lines."""
    of = type(text)
    first = cut_pattern("item", of).search(text, start, end)
    if first is None:
        return [end]
    head_end, same_column = first.start() + 1, item_line(len(first.group(1)), of)
    return [head_end, *(m.start() + 1 for m in same_column.finditer(text, head_end, end)), end]


@functools.cache
def item_line(column: int, of: type) -> re.Pattern:
    pattern = "\n" + " " * column + r"-(?=[ \n]|\Z)"
    return re.compile(pattern if of is str else pattern.encode())


def read_piece(piece: str, *, shared: bool = False) -> object:
    """One piece's data, read by the same loader and checks as a whole file; raises
    _ReadWhole (a ``ValueError``) when it does not read alone, _Refused when it is one list
    item whose values the loader refuses (the error, ``.args[0]``, is the piece's).
    ``shared``: its short texts kept once per process (SHARED_CHARS), for a reader that
    keeps every record."""
    loader = _Loader(piece)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _ReadWhole("an empty piece")
        try:  # an item's list stands where its section's list does, a level down
            depth = int(isinstance(root, yaml.SequenceNode))
            data, aliased = _construct(root, piece, depth, shared=shared)
        except LoadError as exc:
            # (a list's plain items are built before any of its records: left to the whole)
            if (
                isinstance(root, yaml.SequenceNode)
                and len(root.value) == 1
                and not isinstance(root.value[0], yaml.ScalarNode)
            ):
                raise _Refused(exc) from None
            raise
    except (yaml.YAMLError, LoadError):
        raise _ReadWhole("an error: the whole file's reading says where") from None
    finally:
        loader.dispose()
    if aliased:  # the limits on aliases are the whole file's
        raise _ReadWhole("an alias")
    if "&" in piece and _has_anchor(piece):  # two pieces may name the same anchor, which
        raise _ReadWhole("an anchor")  # the whole file's reading refuses
    return data


def _outline(piece: str) -> object:
    """A piece read as ``read_piece`` reads it, keeping only what ``read_records`` checks of
    it (its keys, whether a key's value is empty, how many items): a list item whose values
    are refused is ``[_Refused]``."""
    try:
        data = read_piece(piece)
    except _Refused:
        return [_Refused]
    if isinstance(data, dict):
        return {key: None if value is None else 0 for key, value in data.items()}
    return [0] * len(data) if isinstance(data, list) else 0


def decode_piece(piece: bytes) -> str:
    """A piece of a file's bytes as text; _ReadWhole when it is not UTF-8 (the whole file's
    decoding says where)."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        raise _ReadWhole("not UTF-8") from None


def read_piece_bytes(piece: bytes, read: Callable[[str], object] = read_piece) -> object:
    """``read`` of a piece of the file's bytes, checked first as the whole file's text is
    (``refuse_deep_nesting``), each piece alone; _ReadWhole when it is not UTF-8 or is too
    deep (the whole file's reading says so, first)."""
    text = decode_piece(piece)
    try:
        refuse_deep_nesting(text)
    except LoadError:
        raise _ReadWhole("too deep") from None
    return read(text)


_outline_of_bytes = functools.partial(read_piece_bytes, read=_outline)
_read_shared = functools.partial(read_piece, shared=True)
_read_shared_bytes = functools.partial(read_piece_bytes, read=_read_shared)


def raise_first_refusal(text: str | bytes) -> None:
    """Raise the LoadError the whole file's reading raises, when ``_first_refusal`` can
    say which without that reading (after a piece was ``_Refused``). Given the file's
    bytes, no text of the whole file is made: each piece is decoded alone."""
    fault = _first_refusal(text)
    if fault is not None:
        raise fault from None


def _first_refusal(text: str | bytes) -> LoadError | None:
    """The error the whole file's reading raises for a file whose records compose alone
    but whose values the loader refuses in some list items: found record by record, with
    no record's data kept. None when only the whole file's reading can say (a piece that
    does not read alone for another reason; given the bytes, also a piece that is not
    UTF-8 or is nested too deep, which the whole file's reading refuses before any value).

    The whole file's reading composes every node before it builds any value, then builds
    the last list first and, within it, the last item first: so its error is the last
    refused item's. That one piece is read again where it sits (after as many line breaks
    as precede it), which gives the error's line, and the lines its message names."""
    try:
        data, pieces = read_records(text, _outline if isinstance(text, str) else _outline_of_bytes)
    except _ReadWhole:
        return None
    section, index = next(((name, i) for name in reversed(data) if name in pieces.items
                           for i in reversed(range(len(data[name])))
                           if data[name][i] is _Refused), (None, 0))  # fmt: skip
    if section is None:  # (the pieces read as they did: not reached)
        return None
    piece = pieces.items[section][index]
    stretch = text[piece.start : piece.end]
    piece_text = stretch if isinstance(stretch, str) else decode_piece(stretch)
    try:
        read_piece("\n" * piece.line + piece_text)
    except _Refused as refused:
        error = refused.args[0]
        error.path = (section, index, *error.path[1:]) if error.path else ()
        return error
    return None  # (the piece reads again as it read: not reached)


def _has_anchor(piece: str) -> bool:
    return any(isinstance(t, yaml.AnchorToken) for t in yaml.scan(piece, Loader=yaml.CSafeLoader))


def _code(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character)


def _position(text: str, offset: int) -> Mark:
    before = text[:offset]
    return Mark(before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def _syntax_error(text: str, exc: yaml.MarkedYAMLError) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    if "nesting depth" in (exc.problem or ""):
        # PyYAML 6.0.4's scanner stops at 1,000 levels itself, flow or block, before the
        # loader counts them: nesting far deeper than ours, so it gets the loader's message.
        return LoadError(f"nesting deeper than {MAX_DEPTH} levels", where)
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context_mark
    if exc.context and context and exc.problem_mark and context.line != exc.problem_mark.line:
        # e.g. an unclosed quote: the fault is where the scalar started, not where YAML gave up
        problem += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    return LoadError(f"YAML syntax error: {problem}", where, _syntax_hint(text, where))


_STR, _INT, _FLOAT = (f"tag:yaml.org,2002:{n}" for n in ("str", "int", "float"))
_NULL, _BOOL, _TIMESTAMP = (f"tag:yaml.org,2002:{n}" for n in ("null", "bool", "timestamp"))
_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _construct(
    root: yaml.Node, text: str, depth: int = 0, *, shared: bool = False
) -> tuple[object, bool]:
    """Check every node against the limits and build the Python data, in one pass.

    The result equals what PyYAML's safe constructor builds from the same graph
    (a test compares them); building it here saves a second walk, and lets the
    hidden-character search run once over the whole text instead of once per
    value when the text holds none of those characters raw.
    """
    raw_hidden = has_forbidden(text)
    scalar = _shared_scalar if shared else _scalar
    # Aliases are the only way a node is reached twice; without a "*" there are none.
    built: dict[int, object] | None = {} if "*" in text else None
    aliased = False
    pending: list[tuple[yaml.Node, object, Path_, int]] = []

    def value_of(node: yaml.Node, path: Path_, depth: int) -> object:
        nonlocal aliased
        if built is not None and id(node) in built:
            aliased = True
            return built[id(node)]
        if depth > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH} levels", _mark(node))
        _check_tag(node)
        if isinstance(node, yaml.ScalarNode):
            value = scalar(node, path, raw_hidden)
        else:
            value = [] if isinstance(node, yaml.SequenceNode) else {}
            pending.append((node, value, path, depth))
        if built is not None:
            built[id(node)] = value
        return value

    data = value_of(root, (), depth)
    while pending:
        node, container, path, depth = pending.pop()
        if isinstance(container, list):
            container.extend(
                value_of(child, (*path, i), depth + 1) for i, child in enumerate(node.value)
            )
        else:
            _fill_mapping(node, container, path, depth, value_of, scalar, raw_hidden)
    if aliased:
        extra = _alias_expansion(root)
        if extra > MAX_ALIAS_EXPANSION:
            raise LoadError(
                f"aliases expand to {extra:,} extra values (limit {MAX_ALIAS_EXPANSION:,})",
                _mark(root),
                "write values out instead of using YAML anchors and aliases",
            )
    return data, aliased


def _fill_mapping(
    node, mapping: dict, path: Path_, depth: int, value_of, scalar, raw_hidden
) -> None:
    keys: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise LoadError("a mapping key must be a plain word", _mark(key_node))
        raw = key_node.value
        if raw == "<<":
            raise LoadError(
                "merge keys (<<) are not allowed", _mark(key_node), "write the keys out"
            )
        if raw in keys:
            raise LoadError(
                f"duplicate key {raw!r} (first written at line {keys[raw].start_mark.line + 1})",
                _mark(key_node),
                "keep one of the two; YAML would silently drop the first",
            )
        keys[raw] = key_node
        _check_tag(key_node)
        key = scalar(key_node, path, raw_hidden)
        mapping[key] = value_of(value_node, (*path, raw), depth + 1)


def _check_tag(node: yaml.Node) -> None:
    if node.tag not in SAFE_TAGS:
        raise LoadError(
            f"the tag {node.tag!r} is not allowed",
            _mark(node),
            "remove the tag; only plain strings, numbers, dates, lists and mappings are used",
        )


def _scalar(node: yaml.ScalarNode, path: Path_, raw_hidden: bool) -> object:
    """A scalar's Python value; refuses oversized values, hidden characters, number forms
    nobody means and values their tag cannot represent, each with its position."""
    value = node.value
    if len(value) > MAX_SCALAR_CHARS:
        raise LoadError(
            f"a value of {len(value):,} characters (limit {MAX_SCALAR_CHARS:,})",
            _mark(node),
            "quotes and summaries should be short",
            path,
        )
    # Only a double-quoted scalar can spell a character with an escape.
    if raw_hidden or node.style == '"':
        hidden = hidden_character(value)
        if hidden:
            raise LoadError(hidden, _mark(node), HIDDEN_HINT, path)
    tag = node.tag
    if tag == _STR:
        return value
    if tag in (_INT, _FLOAT):
        if not _NUMBER_FORMS[tag].fullmatch(value):
            raise LoadError(
                f"{_short(value)} is not a plain decimal number, but YAML would read it as one "
                "(octal, hexadecimal, base 60, with underscores, or out of range)",
                _mark(node),
                'quote it to keep it as text (a year is written 2019 or "2019"), '
                "or write a plain decimal number such as 30.52",
                path,
            )
        return int(value) if tag == _INT else float(value)
    if tag == _NULL:
        return None
    if tag == _BOOL:
        if value.lower() not in _BOOLS:
            raise _unreadable(node)
        return _BOOLS[value.lower()]
    try:
        return _TIMESTAMPS.construct_yaml_timestamp(node)
    except Exception:  # which error the constructor raised does not matter
        raise _unreadable(node) from None


def _shared_scalar(node: yaml.ScalarNode, path: Path_, raw_hidden: bool) -> object:
    """``_scalar``, a text of SHARED_CHARS or fewer kept once per process."""
    value = _scalar(node, path, raw_hidden)
    return sys.intern(value) if type(value) is str and len(value) <= SHARED_CHARS else value


def _unreadable(node: yaml.ScalarNode) -> LoadError:
    return LoadError(
        f"{_short(node.value)} cannot be read as {_TAG_WORDS[node.tag]}",
        _mark(node),
        "quote it to keep it as text, or correct it",
    )


_TIMESTAMPS = yaml.constructor.SafeConstructor()
_TAG_WORDS = {_TIMESTAMP: "a real date", _BOOL: "true or false"}


def _bracket_depth(text: str) -> int:
    """Deepest nesting of flow brackets, counting those inside quotes too (an upper bound)."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def has_longer_line(text: str, limit: int) -> bool:
    """Whether a line of ``text`` (lines end at line feeds) is longer than ``limit``.

    Such a line holds a whole block of ``limit // 2`` characters of the text's (counted from
    its start) without a line feed, so only those blocks are measured: splitting a large
    file into its lines took as much memory again as its text."""
    if len(text) <= limit:  # a record's text, mostly
        return False
    step = max(limit // 2, 1)
    for start in range(0, len(text), step):
        if text.find("\n", start, start + step) == -1:
            end = text.find("\n", start)
            line = (len(text) if end == -1 else end) - (text.rfind("\n", 0, start) + 1)
            if line > limit:
                return True
    return False


def refuse_deep_nesting(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before composing.

    PyYAML's C composer recurses once per level and overflows the C stack (a
    segfault, not an exception) at some tens of thousands of levels. Such
    depth needs many brackets or a very long line, so the exact check, a walk
    over libyaml's (iterative) event stream, only runs when one of those is there.
    """
    # (counting the opening brackets, and the text's length, is quicker, and enough for most)
    shallow = text.count("[") + text.count("{") <= MAX_DEPTH or _bracket_depth(text) <= MAX_DEPTH
    if shallow and not has_longer_line(text, MAX_SCALAR_CHARS):
        return
    parser = yaml.CSafeLoader(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LoadError(
                        f"nesting deeper than {MAX_DEPTH} levels",
                        Mark(event.start_mark.line + 1, event.start_mark.column + 1),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # composing reports the syntax error with its position
    finally:
        parser.dispose()
