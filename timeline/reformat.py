"""``timeline fmt``: the whole file in canonical layout, laid out record by record.

The file's bytes are cut where the build's reader cuts them (``load.section_starts``,
``load.item_cuts``): before each top-level key and each record. A record without a ``#``
has no comment, so its canonical text is ``layout.dump_record`` of its data alone; in a
large file two processes lay those out. A record with a ``#`` is laid out by ``layout``'s
comment rules on a document of its section's line and its own lines. The comment lines
after a record's last field belong to what follows it, as in the whole file, and are
carried on to it.

A record found canonical is remembered by the digest of its bytes (:class:`FmtCache`),
with the key an event is sorted by: while its bytes stay the same it is neither decoded
nor parsed again. A file that cannot be cut (an alias, quoted text or a flow collection
across a record's start, an error, a section that is not a list of records) is laid out
whole by the same rules (``layout.format_text``), which also say what is wrong with it.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import itertools
import operator
import os
import re
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import schema
from .digest import (
    DIGEST_SIZE,
    digest,
    digest_each,
    hex_digest,
    modules_fingerprint,
    split_digests,
)
from .files import BOM_BYTES, file_stamp, line_ending, with_line_ending
from .layout import (
    INDENT,
    _comment_lines,
    _record_with_comments,
    collect_comments,
    dump_record,
    event_order,
    format_text,
)
from .load import (
    LoadError,
    _ReadWhole,
    _Refused,
    cut_pattern,
    decode,
    decode_piece,
    item_cuts,
    item_line,
    load_text,
    map_stretches,
    one_key,
    raise_first_refusal,
    read_piece,
    section_starts,
)

# What the canonical text of a record depends on besides its bytes: the layout's code, the
# declarations, the date rules, the loader and the emitter.
LAYOUT_MODULES = ("comments", "dates", "layout", "load", "reformat", "schema")

# An event's sort key (``layout.event_order``) as one string: its date's key and its id
# joined by a unit separator, which sorts before any character of a date's key and cannot be
# in a file's text (the loader refuses it), so that the strings sort as the pairs do.
Order = str
_UNIT, _RECORD = "\x1f", "\x1e"
_UNKNOWN = "\x15"  # in the cache, for a piece with no sort key (not known canonical)


@dataclass
class _Section:
    """A top-level key and its records, as columns: where each record's bytes are, its key
    in the cache (None: it has comments), its canonical text (None: its bytes are
    canonical) and its sort key (events)."""

    name: str
    before: list[str]  # comment lines in front of its key's line
    eol: str  # its line's own comments
    seed: int = 0  # of its records' digests
    spans: list[tuple[int, int]] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    todo: list[int] = field(default_factory=list)  # records not known from the cache


@dataclass
class Canonical:
    """The canonical layout of a file: text, and stretches of the file's own bytes."""

    raw: bytes
    parts: list[str | tuple[int, int]]
    newline: str
    bom: bool
    sections: list[_Section] = field(default_factory=list)
    found: int = 0  # records laid out (not known from the cache)
    cut: Previous | None = None  # where the file was cut (None: it was laid out whole)
    _unchanged: bool | None = field(default=None, repr=False)

    @property
    def canonical_keys(self) -> dict[bytes, Order]:
        """The cache's keys of the records found canonical (or of the text they are laid
        out as), with their sort keys."""
        keys = itertools.chain.from_iterable(s.keys for s in self.sections)
        orders = itertools.chain.from_iterable(s.orders for s in self.sections)
        found = dict(zip(keys, orders, strict=True))
        found.pop(None, None)  # records with comments
        return found

    def unchanged(self) -> bool:
        """Whether the file is already in canonical layout, byte for byte."""
        if self._unchanged is None:
            self._unchanged = self._compare()
        return self._unchanged

    def _compare(self) -> bool:
        view, at = memoryview(self.raw), len(BOM_BYTES) if self.bom else 0
        for part in self.parts:
            if isinstance(part, tuple) and part[0] == at:
                at = part[1]
                continue
            data = self._bytes(part)
            if view[at : at + len(data)] != data:
                return False
            at += len(data)
        return at == len(self.raw)

    def data(self) -> bytes:
        """The canonical file's bytes."""
        return (BOM_BYTES if self.bom else b"") + b"".join(self._bytes(p) for p in self.parts)

    def _bytes(self, part: str | tuple[int, int]) -> bytes:
        if isinstance(part, tuple):
            return self.raw[part[0] : part[1]]
        return _encode(part, self.newline)


def _encode(text: str, newline: str) -> bytes:
    return with_line_ending(text, newline).encode("utf-8")


def lay_out(
    raw: bytes,
    path: Path,
    cache: dict[bytes, Order] | FmtCache | None = None,
    previous: Previous | None = None,
) -> Canonical:
    """The canonical layout of the file whose bytes are ``raw``; records whose digest is in
    ``cache`` are known canonical, and where the file is cut is found from the ``previous``
    file read when it can be (``recut``). Raises LoadError or LayoutError as ``format_text``
    does.

    Example::

        canonical = lay_out(Path("events.yaml").read_bytes(), Path("events.yaml"))
        canonical.unchanged()  # True for a file fmt wrote
    """
    bom = raw.startswith(BOM_BYTES)
    newline = line_ending(raw)
    try:
        return _by_record(raw, len(BOM_BYTES) if bom else 0, newline, bom, cache or {}, previous)
    except _ReadWhole as exc:
        refused = isinstance(exc, _Refused)  # (not the error: its traceback holds the frames)
    if refused:  # a record's value: found from the bytes, without a text of the whole file
        raise_first_refusal(raw)  # (when it cannot say, the whole file's reading does)
    return Canonical(raw, [format_text(decode(raw), path)], newline, bom)


@dataclass
class Cuts:
    """Where a file is cut, as ``load.section_starts`` and ``load.item_cuts`` cut it: its
    header (from ``begin``, after any byte-order mark, to ``header_end``), then each
    top-level key's stretch, ``[start, end of its own lines, its records' starts..., end]``.
    """

    begin: int
    header_end: int
    sections: list[list[int]]

    @functools.cached_property
    def pieces(self) -> list[tuple[int, int, int]]:
        """Every piece in file order as (start, end, section): the header (section -1), then
        each section's own lines and its records."""
        found = [(self.begin, self.header_end, -1)]
        for n, cuts in enumerate(self.sections):
            found += [(a, b, n) for a, b in itertools.pairwise(cuts)]
        return found


def _cut(raw: bytes, begin: int) -> Cuts:
    starts = [begin + s for s in section_starts(raw[begin:])]  # offsets after any BOM
    sections = [[a, *item_cuts(raw, a, b)] for a, b in itertools.pairwise(starts)]
    return Cuts(begin, starts[0], sections)


@dataclass
class Previous:
    """The file fmt read last, as its cache keeps it: its length and line ending, where it
    was cut, its sections' names, each piece's digest (a record's seeded as its key) and,
    for a record found canonical, its sort key."""

    length: int
    newline: str
    cuts: Cuts
    names: list[str]
    digests: list[bytes]
    orders: list[Order | None]  # a record found canonical: its sort key ("" but for events)


def _piece_seeds(cuts: Cuts, names: list[str], newline: str) -> list[int]:
    """Each piece's seed: none for the header and a section's own lines, the section's
    for its records."""
    seeds = [0]
    for name, section in zip(names, cuts.sections, strict=True):
        seeds += [0] + [_seed(schema.SECTION_RECORD[name], newline)] * (len(section) - 2)
    return seeds


def recut(raw: bytes, newline: str, previous: Previous) -> tuple[Cuts, list, list] | None:
    """The file's cuts, its pieces' digests and the sort keys of those known canonical,
    found from the file fmt read last: the pieces that kept their bytes from its start and
    from its end, and ``load.item_cuts``'s rule over the stretch between them, which must
    lie among one section's records. None
    when it does not (an edit of the header or of a section's own lines, a new top-level
    key, a record that no longer starts where it did): the file is then cut whole.
    ``tests/test_reformat.py`` checks that it finds the cuts the whole file's cutting finds.
    """
    old = previous.cuts
    if newline != previous.newline or raw[: old.begin] != BOM_BYTES[: old.begin]:
        return None
    pieces = old.pieces
    seeds = _piece_seeds(old, previous.names, newline)
    view, delta = memoryview(raw), len(raw) - previous.length
    fits = bisect.bisect_right(pieces, len(raw), key=lambda piece: piece[1])  # end in it
    bounds = [a for a, _, _ in pieces], [b for _, b, _ in pieces]
    found = _same(view, bounds, seeds, previous.digests, range(fits), 0)
    first = len(found)
    if first == len(pieces):
        return (old, found, previous.orders) if delta == 0 else None
    if first == 0 or pieces[first - 1][2] < 0:
        return None  # the header, or what follows it, changed
    least = next((k for k in range(first, len(pieces)) if pieces[k][0] + delta >= pieces[first][0]),
                 len(pieces))  # fmt: skip
    from_end = range(len(pieces) - 1, least - 1, -1)
    kept = _same(view, bounds, seeds, previous.digests, from_end, delta)
    stop = len(pieces) - len(kept)
    mended = _mended(raw, old, pieces, first, stop, delta)
    if mended is None:
        return None
    cuts, section, window = mended
    seed = _seed(schema.SECTION_RECORD[previous.names[section]], newline)
    between = [digest(view[a:b], seed) for a, b in itertools.pairwise(window)]
    orders = [*previous.orders[:first], *[None] * len(between), *previous.orders[stop:]]
    return cuts, [*found, *between, *reversed(kept)], orders


CHUNK = 8192  # pieces compared at a time: an edit is found after about one pass


def _same(view, bounds, seeds, old: list[bytes], order: range, shift: int) -> list[bytes]:
    """The digests of the pieces (``bounds``: their starts and their ends), taken in
    ``order`` and moved by ``shift``, that are the same as their ``old`` digests, until the
    first that is not."""
    same: list[bytes] = []
    starts_of, ends_of = bounds
    for at in range(0, len(order), CHUNK):
        chunk = order[at : at + CHUNK]
        starts = map(operator.add, map(starts_of.__getitem__, chunk), itertools.repeat(shift))
        ends = map(operator.add, map(ends_of.__getitem__, chunk), itertools.repeat(shift))
        spans = map(slice, starts, ends)
        new = digest_each(map(view.__getitem__, spans), map(seeds.__getitem__, chunk))
        differ = list(map(operator.ne, new, map(old.__getitem__, chunk)))
        if True in differ:
            return same + new[: differ.index(True)]
        same += new
    return same


def _item_column(raw: bytes, at: int) -> int | None:
    """The column of the dash of a list item whose line starts at ``at`` (after a line
    break), by the pattern ``load.item_cuts`` finds items with (None: none)."""
    found = cut_pattern("item", bytes).match(raw, at - 1)
    return len(found.group(1)) if found else None


def _mended(raw: bytes, old: Cuts, pieces: list, first: int, stop: int, delta: int):
    """The cuts of the file whose old pieces ``first`` to ``stop`` (exclusive) changed, with
    the section they were in and the new records' bounds; None unless they were records of
    one section and the bytes in their place are records of it."""
    section = pieces[first - 1][2]
    cuts = old.sections[section]
    records = cuts[1:-1]  # the old records' starts (the first ends the section's own lines)
    changed = pieces[first:stop]
    if any(n != section or a not in records for a, _, n in changed):
        return None  # a section's own lines, or pieces of two sections, changed
    start = pieces[first - 1][1]  # the changed stretch, in the new file
    end = pieces[stop][0] + delta if stop < len(pieces) else len(raw)
    if stop < len(pieces) and pieces[stop][2] == section and pieces[stop][0] not in records:
        return None
    if end < start or (end > start and raw[end - 1 : end] != b"\n"):
        return None
    before = [c for c in records if c < start]
    after = [c + delta for c in records if stop < len(pieces) and c >= pieces[stop][0]]
    kept = before[:1] or after[:1] or [start]  # a record whose column is the section's
    column = _item_column(raw, kept[0])
    if column is None or (end > start and _item_column(raw, start) != column):
        return None  # item_cuts takes the first record's column for all
    if end > start and cut_pattern("section", bytes).search(raw, start - 1, end - 1):
        return None  # a new top-level key
    inside = [m.start() + 1 for m in item_line(column, bytes).finditer(raw, start, end)]
    window = [start, *inside, end] if end > start else [start]
    mended = [cuts[0], *before, *window[:-1], *after, cuts[-1] + delta]
    sections = [*old.sections[:section], mended]
    sections += [[c + delta for c in later] for later in old.sections[section + 1 :]]
    return Cuts(old.begin, old.header_end, sections), section, window


def _by_record(
    raw: bytes,
    begin: int,
    newline: str,
    bom: bool,
    cache: dict[bytes, Order] | FmtCache,
    previous: Previous | None,
) -> Canonical:
    found = recut(raw, newline, previous) if previous is not None else None
    cuts, digests, known = found if found else (_cut(raw, begin), None, None)
    sections = [_read_head(raw[c[0] : c[1]], len(c) > 2) for c in cuts.sections]
    names = [section.name for section in sections]
    if len(set(names)) < len(names):
        raise _ReadWhole("a duplicate key")
    view = memoryview(raw)
    seeds = _piece_seeds(cuts, names, newline)
    if digests is None:  # the header's, then each section's own lines' and records'
        pieces = itertools.starmap(slice, (piece[:2] for piece in cuts.pieces))
        digests = digest_each(map(view.__getitem__, pieces), seeds)
    hashes = _found(raw, b"#")  # few: comments, and the odd one in a URL or a hashtag
    at = 1  # where the first section's digests start
    for section, c in zip(sections, cuts.sections, strict=True):
        section.seed = _seed(schema.SECTION_RECORD[section.name], newline)
        section.spans = list(itertools.pairwise(c[1:]))
        section.keys = list(digests[at + 1 : at + 1 + len(section.spans)])
        # None: to be laid out (the pieces kept from the file read last are known)
        section.orders = (list(known[at + 1 : at + 1 + len(section.spans)]) if known
                          else list(map(cache.get, section.keys)))  # fmt: skip
        at += 1 + len(section.spans)
        for place in hashes:  # a record with a "#" has no key: its comments go with it
            if c[1] <= place < c[-1]:
                record = bisect.bisect_right(c, place) - 2
                section.keys[record] = section.orders[record] = None
        section.todo = [i for i, order in enumerate(section.orders) if order is None]
    jobs = [(*section.spans[i], schema.SECTION_RECORD[section.name], newline)
            for section in sections for i in section.todo
            if section.keys[i] is not None]  # fmt: skip
    laid_alone = iter(map_stretches(_lay_out_alone, raw, jobs))
    pending: list[str] = []  # comment lines that go in front of what follows them
    for section in sections:
        section.before, pending = pending, section.before  # see _read_head
        pending = _fill(section, raw, newline, laid_alone, pending)
    parts = _assembled(decode_piece(raw[begin : cuts.header_end]), sections, pending)
    orders: list[Order | None] = [None]  # the header's
    for section in sections:  # a record's digest is still its key if its bytes are canonical
        own = digests[len(orders) + 1 : len(orders) + 1 + len(section.keys)]
        pairs = zip(section.keys, section.orders, own, strict=True)
        orders += [None, *(order if key == piece else None for key, order, piece in pairs)]
    cut = Previous(len(raw), newline, cuts, names, digests, orders)
    return Canonical(raw, parts, newline, bom, sections, found=len(jobs), cut=cut)


def _fill(
    section: _Section,
    raw: bytes,
    newline: str,
    laid_alone: Iterator[tuple[str | None, Order]],
    pending: list[str],
) -> list[str]:
    """The texts and sort keys of a section's records: from the cache, or laid out (alone, or
    with their comments); returns the comment lines after its last record."""
    keys, spans, orders = section.keys, section.spans, section.orders
    texts: list[str | None] = [None] * len(keys)
    section.texts = texts

    def own(i: int) -> str:  # a record's text: laid out, or its bytes
        return texts[i] if texts[i] is not None else decode_piece(raw[spans[i][0] : spans[i][1]])

    at = 0  # the record the pending comments go in front of
    for i in section.todo:
        if pending and at < i:  # in front of a record known canonical
            texts[at] = _with_lines(pending, own(at))
            pending = []
        trailing: list[str] = []
        if keys[i] is None:  # a record with comments
            piece = raw[spans[i][0] : spans[i][1]]
            texts[i], orders[i], trailing = _with_comments(section.name, piece)
        else:
            texts[i], orders[i] = next(laid_alone)
            if texts[i] is not None:  # the key of the text it is laid out as: canonical
                keys[i] = digest(_encode(texts[i], newline), section.seed)
        if pending:
            texts[i] = _with_lines(pending, own(i))
        pending, at = trailing, i + 1
    if pending and at < len(keys):
        texts[at] = _with_lines(pending, own(at))
        pending = []
    return pending


def _found(raw: bytes, byte: bytes) -> list[int]:
    """Where ``byte`` is in ``raw`` (bytes.find scans at memory speed; a regular expression
    for one character is ten times slower)."""
    found, at = [], raw.find(byte)
    while at >= 0:
        found.append(at)
        at = raw.find(byte, at + 1)
    return found


def _with_lines(comments: list[str], record: str) -> str:
    return "".join(_comment_lines(comments, INDENT)) + record


def _assembled(header: str, sections: list[_Section], trailing: list[str]) -> list:
    """The canonical file's parts in order, as ``layout.format_document`` lays them out."""
    parts: list[str | tuple[int, int]] = ["".join(f"{line}\n" for line in header.splitlines())]
    found = {section.name: section for section in sections}
    for name in schema.SECTIONS:
        section = found.get(name)
        parts += _comment_lines(section.before, "") if section else []
        if section is None and name in schema.OPTIONAL_SECTIONS:
            continue
        order = list(range(len(section.spans))) if section else []
        if name == "events" and section:
            order.sort(key=section.orders.__getitem__)
        eol = section.eol if section else ""
        parts.append(f"{name}:{eol}\n" if order else f"{name}: []{eol}\n")
        if order:
            texts, spans = section.texts, section.spans
            parts += [spans[i] if texts[i] is None else texts[i] for i in order]
    parts += _comment_lines(trailing, "")
    return parts


def _read_head(head: bytes, has_records: bool) -> _Section:
    """A top-level key's own lines: a section's line, its comments, and (in ``before``, for
    the moment) the comment lines after it, which go in front of its first record."""
    text = decode_piece(head)
    name, value = one_key(read_piece(text))
    if name not in schema.SECTIONS or value != (None if has_records else []):
        raise _ReadWhole("not a section of records: the whole file's layout says why")
    if "#" not in text:
        return _Section(name, [], "")
    comments = collect_comments(text, _loaded(text))
    eol = comments.end_of_line.get((name,))
    return _Section(name, comments.trailing, "  " + " ".join(eol) if eol else "")


def _with_comments(name: str, piece: bytes) -> tuple[str, Order, list[str]]:
    """A record with a ``#`` laid out with its comments, its sort key, and the comment
    lines after its last field (they go in front of what follows)."""
    text = f"{name}:\n" + decode_piece(piece)
    doc = _loaded(text)
    items = doc.data.get(name) if isinstance(doc.data, dict) else None
    if not (isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict)):
        raise _ReadWhole("not one record")
    kind, record = schema.SECTION_RECORD[name], items[0]
    comments = collect_comments(text, doc)
    if comments.end_of_line.get((name,)):
        # on a line with nothing to annotate above the record's first field: in the whole
        # file it belongs to what comes before the record
        raise _ReadWhole("a comment that belongs before the record")
    laid = _record_with_comments(kind, record, (name, 0), comments)
    laid = _with_lines(comments.before.get((name, 0), []), laid)  # between its dash and fields
    return laid, _order(kind, record), comments.trailing


def _lay_out_alone(piece: bytes, kind: str, newline: str) -> tuple[str | None, Order]:
    """A record without comments laid out (None: its bytes are canonical), and its sort
    key. Runs in the forked process too."""
    items = read_piece(decode_piece(piece))
    if not (isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict)):
        raise _ReadWhole("not one record")
    laid = dump_record(kind, items[0])
    return (None if _encode(laid, newline) == piece else laid), _order(kind, items[0])


def _order(kind: str, record: dict) -> Order:
    """An event's sort key; "" for other records (none is sorted)."""
    return _UNIT.join(event_order(record)) if kind == "event" else ""


def _loaded(text: str):
    try:
        return load_text(text, Path("<record>"))
    except LoadError:
        raise _ReadWhole("an error: the whole file's reading says where") from None


@functools.cache
def _seed(kind: str, newline: str) -> int:
    """The seed of the digests of a section's records in a file with this line ending: the
    same bytes are canonical in one section and not in another."""
    return int.from_bytes(digest(f"{kind}\0{newline}".encode())[:8], "little")


def unified_diff(canonical: Canonical, path: Path) -> str:
    """The file's lines against its canonical layout, as a unified diff with the file's line
    numbers. Only the stretch between the first and the last changed line is compared."""
    old = decode(canonical.raw).splitlines(True)
    new = decode(canonical.data()).splitlines(True)
    same_start = _same_lines(old, new)
    same_end = _same_lines(old[same_start:][::-1], new[same_start:][::-1])
    start = max(0, same_start - DIFF_CONTEXT)
    keep_end = max(0, same_end - DIFF_CONTEXT)
    lines = difflib.unified_diff(
        old[start : len(old) - keep_end], new[start : len(new) - keep_end],
        str(path), f"{path} (canonical)", n=DIFF_CONTEXT,
    )  # fmt: skip
    return "".join(_HUNK.sub(lambda m: _moved(m, start), line) for line in lines)


DIFF_CONTEXT = 3


def _same_lines(old: list[str], new: list[str]) -> int:
    """How many lines the two lists start with alike."""
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                min(len(old), len(new)))  # fmt: skip


_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


def _moved(found: re.Match, by: int) -> str:
    old, old_count, new, new_count = found.groups()
    return f"@@ -{int(old) + by}{old_count} +{int(new) + by}{new_count} @@"


class FmtCache:
    """What ``fmt`` found, kept beside the YAML file (``.events.yaml.fmt-cache``): the keys
    of the records of the file last seen that are canonical (or of the texts they are laid
    out as), each event's sort key, where that file was cut and its pieces' digests
    (``Previous``), and the file's stamp when it was found canonical whole
    (``files.file_stamp``: while the stamp stays the same, the file is not read).

    A key is the digest of a record's bytes, seeded by its section and the file's line
    ending. The cache names the layout's fingerprint (``LAYOUT_MODULES`` and PyYAML): made by
    other code, it is not used. It only saves work: one that cannot be read or written is
    said so on stderr and fmt works on without it; one that is not whole is not used.
    It is replaced by a rename, so a reader sees one whole cache or another.
    """

    MAGIC = b"timeline fmt cache 2"

    def __init__(self, yaml_path: Path):
        target = Path(os.path.realpath(yaml_path))
        self.path = target.with_name(f".{target.name}.fmt-cache")
        self.yaml_path = target
        self.stamp = ""
        self.problem = ""

    def load(self) -> FmtCache:
        """Read the cache's first lines: the stamp of the file last found canonical (the rest
        is read when first asked for). The stamp needs no digest: the cache is replaced
        whole, by a rename, and a stamp is written only for a file found canonical."""
        try:
            with self.path.open("rb") as cache:
                magic, fingerprint, _, stamp = (cache.readline().rstrip(b"\n") for _ in range(4))
        except FileNotFoundError:
            return self
        except OSError as exc:
            self.problem = f"cannot read the cache {self.path}: {exc.strerror}"
            return self
        if (magic, fingerprint) == (self.MAGIC, layout_fingerprint().encode()):
            self.stamp = stamp.decode(errors="replace")
        return self

    @functools.cached_property
    def _blobs(self) -> list[bytes]:
        """The cache's parts (see remember); none if it is not whole or not this code's."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return []
        magic, fingerprint, check, _, rest = (data.split(b"\n", 4) + [b""] * 5)[:5]
        if (magic, fingerprint) != (self.MAGIC, layout_fingerprint().encode()):
            return []
        if check != hex_digest(rest).encode():  # a cache cut short, or mended by hand
            return []
        try:
            return _unblobs(rest)
        except ValueError:
            return []

    @property
    def count(self) -> int:
        """How many keys the cache holds."""
        return len(self._blobs[0]) // DIGEST_SIZE if self._blobs else 0

    @functools.cached_property
    def previous(self) -> Previous | None:
        """The file fmt read last (read when first asked for: a file known canonical by
        its stamp needs none of it)."""
        try:
            return _previous_of(*self._blobs[2:]) if len(self._blobs) > 2 else None
        except ValueError:
            return None

    @functools.cached_property
    def entries(self) -> dict[bytes, Order]:
        """The keys of the records known canonical, with their sort keys (read when first
        asked for: a file cut as the last one was needs only ``previous``)."""
        try:
            return _unpacked(*self._blobs[:2]) if self._blobs else {}
        except ValueError:
            return {}

    def get(self, key: bytes | None) -> Order | None:
        return self.entries.get(key)

    def known_canonical(self) -> bool:
        """Whether the file is the one last found canonical, by its stamp."""
        try:
            stamp = file_stamp(self.yaml_path)
        except OSError:
            return False
        return bool(stamp) and stamp == self.stamp

    def remember(self, canonical: Canonical, *, whole: bool) -> None:
        """Keep what ``canonical`` found, and the file's stamp if ``whole`` (the file is
        canonical), unless the cache holds it all already."""
        stamp = file_stamp(self.yaml_path) if whole else ""
        found = canonical.canonical_keys
        if (not canonical.found and stamp == self.stamp and len(found) == self.count
                and canonical.cut == self.previous):  # fmt: skip
            return
        parts = [b"".join(found), _RECORD.join(found.values()).encode()]
        rest = _blobs([*parts, *(_previous_parts(canonical.cut) if canonical.cut else [])])
        head = [self.MAGIC, layout_fingerprint().encode(), hex_digest(rest).encode(),
                stamp.encode()]  # fmt: skip
        try:
            _replace(self.path, b"\n".join([*head, rest]))
        except OSError as exc:
            self.problem = f"cannot write the cache {self.path}: {exc.strerror or exc}"


# An event's sort key is kept as text, each separated by a record separator ("" for records
# that are not events); blobs are kept one after another, after a line of their lengths.


def _unpacked(keys: bytes, orders: bytes) -> dict[bytes, Order]:
    found = orders.decode().split(_RECORD) if keys else []
    if len(keys) != len(found) * DIGEST_SIZE:
        raise ValueError("a cache whose parts do not agree")
    return dict(zip(split_digests(keys), found, strict=True))


def _previous_parts(previous: Previous) -> list[bytes]:
    cuts = previous.cuts
    numbers = [previous.length, cuts.begin, cuts.header_end, len(cuts.sections)]
    for section in cuts.sections:
        numbers += [len(section), *section]
    texts = _RECORD.join([previous.newline, *previous.names]).encode()
    orders = _RECORD.join(_UNKNOWN if o is None else o for o in previous.orders).encode()
    return [array("q", numbers).tobytes(), texts, b"".join(previous.digests), orders]


def _previous_of(numbers_blob: bytes, texts: bytes, digests: bytes, orders: bytes) -> Previous:
    numbers = array("q")
    numbers.frombytes(numbers_blob)
    length, begin, header_end, count = numbers[:4]
    sections, at = [], 4
    for _ in range(count):
        size = numbers[at]
        sections.append(list(numbers[at + 1 : at + 1 + size]))
        at += 1 + size
    newline, *names = texts.decode().split(_RECORD)
    found = split_digests(digests)
    known = [None if o == _UNKNOWN else o for o in orders.decode().split(_RECORD)]
    previous = Previous(length, newline, Cuts(begin, header_end, sections), names, found, known)
    if not len(found) == len(known) == len(previous.cuts.pieces) or len(names) != count:
        raise ValueError("a cache whose parts do not agree")
    return previous


def _blobs(parts: list[bytes]) -> bytes:
    return b" ".join(b"%d" % len(part) for part in parts) + b"\n" + b"".join(parts)


def _unblobs(data: bytes) -> list[bytes]:
    lengths, _, rest = data.partition(b"\n")
    found, at = [], 0
    for length in map(int, lengths.split()):
        found.append(rest[at : at + length])
        at += length
    if at != len(rest):
        raise ValueError("a cache whose parts do not agree")
    return found


def _replace(path: Path, data: bytes) -> None:
    """``data`` in a temporary sibling renamed over ``path`` (not synced: a cache lost to a
    crash costs a slower run, and one cut short is not used)."""
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


@functools.cache
def layout_fingerprint() -> str:
    """A hash of what the canonical text of a record depends on besides its bytes."""
    emitter = f"{yaml.__version__}\0{yaml._yaml.get_version_string()}".encode()
    return modules_fingerprint(LAYOUT_MODULES, emitter)
