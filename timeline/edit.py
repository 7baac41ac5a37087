"""Safe edits of ``events.yaml``: insert one event at its chronological place.

Only the inserted block is new; every other byte of the file stays as it was.
The whole resulting file is validated before anything is written; the write
is locked against other writers and atomic (see :mod:`timeline.files`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sqlite3
import unicodedata
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import yaml

from .comments import TokenMap
from .dates import parse_date
from .files import (
    ATTEMPTS,
    Spliced,
    TextFile,
    WriteRefused,
    digest_of,
    line_ending,
    pieces_of,
    rewrite,
    write_lock,
)
from .forks import in_child
from .layout import INDENT, canonical_record, dump_record, event_order
from .load import (
    HIDDEN_HINT,
    Document,
    LoadError,
    Piece,
    hidden_character,
    load_bytes,
    load_text,
    mapped_copy,
    mapped_joined,
    paused_gc,
)
from .places import event_place, points_by_name
from .spans import NotAList, reparse
from .validate import Problem, Result, Unsettled, validate_changed, validate_document

if TYPE_CHECKING:
    from .catalog import Catalog

T = TypeVar("T")

MAX_ID_WORDS = 6
# A file this large, with no database beside it, is built into one before ``add`` places an
# event: a build reads it in batches, in bounded memory, and the event is then placed and
# checked from the database. Without one, the whole file is parsed into a node graph (about
# 25 times its size: 7.3 GiB for 290 MiB) and parsed again with the event; below this size
# that costs less time than a build.
BUILT_FIRST_BYTES = 4 * 2**20


class EditRefused(Exception):
    """The edit would leave the file invalid; ``problems`` says why. Nothing was written."""

    def __init__(self, problems: list[Problem], line: int | None = None):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.line = line  # where the new event would have started

    def __reduce__(self) -> tuple:  # sent whole from a forked process (``forks.in_child``)
        return (type(self), (self.problems, self.line))


@dataclass(frozen=True)
class Insertion:
    """An event inserted into a file: the whole new file as text (or as the bytes to
    write, decoded only when asked for), the inserted lines and where they start."""

    block: str  # the inserted lines
    line: int  # 1-based line where the block starts
    new_text: str | None = None
    data: bytes | Spliced | None = None

    def position(self, key: str) -> tuple[int, int]:
        """Where the value of the new event's ``key`` starts in the new file (line, column,
        from 1), by the parser's marks of the inserted block; the event's own when it has
        no such key."""
        (record,) = yaml.compose(self.block, Loader=yaml.CSafeLoader).value
        mark = next((v.start_mark for k, v in record.value if k.value == key), record.start_mark)
        return self.line + mark.line, mark.column + 1

    @property
    def text(self) -> str:
        """The whole new file (without a byte-order mark)."""
        if self.new_text is not None:
            return self.new_text
        data = self.data.joined() if isinstance(self.data, Spliced) else self.data
        return data.decode("utf-8").removeprefix("\ufeff")


def suggest_id(date: object, title: str, taken: set[str] = frozenset()) -> str:
    """A stable slug from the date as written and the first words of the title.

    Example::

        >>> suggest_id("2021-04-10", "Zelensky meets Erdoğan in Istanbul")
        '2021-04-10-zelensky-meets-erdogan-in-istanbul'
    """
    base = id_base(date, title)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def id_base(date: object, title: str) -> str:
    """What ``suggest_id`` suggests when no id is taken; every id it may suggest begins
    with it."""
    try:
        prefix = parse_date(date).canonical.split("/")[0].rstrip("?~%")
    except ValueError:
        prefix = "undated"
    words = re.findall(r"[a-z0-9]+", _ascii(title.lower()))[:MAX_ID_WORDS]
    return "-".join([prefix, *words]) if words else prefix


def _ascii(text: str) -> str:
    table = str.maketrans({"ı": "i", "ş": "s", "ğ": "g", "ç": "c", "ö": "o", "ü": "u"})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return decomposed.encode("ascii", "ignore").decode()


def insertion_point(doc: Document, event: dict, text: str) -> int:
    """0-based line before which ``event`` goes, with the comments above that place kept
    with what follows them.

    That place starts right after the content that precedes it, found from the
    parser's own marks: the end of the last value of the record before (or of the
    ``events:`` key). Only the tokens (never the lines) separate content from
    comments, so a line of a block scalar that starts with ``#`` is never taken for
    one. A file with aliases is scanned for its tokens instead: an alias carries
    the marks of the value it repeats, not its own.
    """
    pairs = doc.root.value
    key, events_node = next((k, v) for k, v in pairs if k.value == "events")
    records = events_node.value if isinstance(events_node, yaml.SequenceNode) else []
    later = [
        i
        for i, raw in enumerate(doc.data.get("events") or [])
        if isinstance(raw, dict) and event_order(raw) > event_order(event)
    ]
    if later:
        before, after = (records[later[0] - 1] if later[0] else key), records[later[0]]
    else:
        following = [i for i, (k, _) in enumerate(pairs) if k.start_mark.line > key.start_mark.line]
        before = pairs[following[0] - 1][1] if following else doc.root
        after = pairs[following[0]][0] if following else None  # None: the end of the file
    if doc.aliased:
        tokens = TokenMap(text)
        return tokens.gap_start(after.start_mark.line if after else len(tokens.lines))
    return _line_after(_content_end(before))


def _line_after(end: yaml.Mark) -> int:
    """The 0-based line a new record goes before, after content that ends at ``end``."""
    return end.line + 1 if end.column > 0 else end.line


def _content_end(node: yaml.Node) -> yaml.Mark:
    """Where the last token of ``node`` ends. A block collection's own end mark is
    where the next content starts, so its last value's end is taken instead."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark


def insert_event(text: str, doc: Document, event: dict) -> Insertion:
    """The file text with ``event`` inserted in canonical layout at its chronological place.

    Every other byte stays as it was; the block uses the file's own line ending and
    stands at the column of the list's dashes (``events:`` then ``- id: …`` at the key's
    column is YAML too, and ``timeline validate`` accepts it).
    """
    newline = line_ending(text)
    events_mark = doc.node_mark(("events",))
    if events_mark is None or not isinstance(doc.data, dict):
        raise LoadError("the file has no 'events:' section", hint="write 'events: []'")
    if not doc.data.get("events"):
        text = _open_empty_list(text, events_mark)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    index = insertion_point(doc, event, text)
    block = dump_record("event", event, _item_indent(doc)).replace("\n", newline)
    new_text = "".join(lines[:index]) + block + "".join(lines[index:])
    return Insertion(block, index + 1, new_text=new_text)


def _item_indent(doc: Document) -> str:
    """The indentation of the events list's dashes, from the parser's mark of the list (a
    block list starts at its first dash); the canonical one for an empty list."""
    events = next(v for k, v in doc.root.value if k.value == "events")
    if isinstance(events, yaml.SequenceNode) and events.value and not events.flow_style:
        return " " * events.start_mark.column
    return INDENT


def _open_empty_list(text: str, mark: yaml.Mark) -> str:
    """``events: []`` becomes ``events:`` so block items can follow it."""
    if text.startswith("[", mark.index):
        close = text.find("]", mark.index)
        if close > 0 and not text[mark.index + 1 : close].strip():
            return text[: mark.index].rstrip(" \t") + text[close + 1 :]
    raise LoadError("cannot insert into this 'events:' value", hint="write 'events: []'")


@dataclass(frozen=True)
class EventPlaces:
    """Where the events of a file read record by record from its bytes are, and their
    order: what placing a new event needs (``_placed_in_bytes``), without their data."""

    orders: list[tuple[str, str] | None]  # each event's ``event_order`` (None: not a mapping)
    pieces: list[Piece]  # each event's stretch of the file
    key_start: int  # where the 'events:' key's line starts
    column: int  # of the list's dashes

    @classmethod
    def of(cls, doc: Document) -> EventPlaces | None:
        """The places of ``doc``'s events; None for a document read whole (or from its text),
        or an events section that is not a block list of them."""
        pieces = doc.pieces.items.get("events") if doc.pieces is not None else None
        events = doc.data.get("events") if isinstance(doc.data, dict) else None
        if not pieces or not isinstance(events, list) or isinstance(doc.text, str):
            return None
        orders = [event_order(e) if isinstance(e, dict) else None for e in events]
        column = doc.node_mark(("events",)).column  # the list's first dash
        return cls(orders, pieces, doc.pieces.sections["events"].start, column)


@dataclass
class Loaded:
    """What ``add`` needs of a file, read once for its prompts and its placing."""

    digest: str  # of the bytes read
    ids: dict[str, list[str]]  # what the prompts offer (``known_ids``)
    countries: dict[str, str]  # each actor's (``actor_countries``)
    places: EventPlaces | None  # None when the file does not read record by record
    points: dict[str, list[tuple[float, float]]]  # each place name's (``place_points``)

    def take(self, current: TextFile) -> EventPlaces | None:
        """The places, if the file still holds the bytes read."""
        return self.places if current.digest == self.digest else None

    @classmethod
    def _read(cls, path: Path) -> Loaded:
        with mapped_copy(path) as raw, paused_gc():
            digest, doc = digest_of(raw), load_bytes(raw, path)
            data = doc.data
            return cls(
                digest,
                known_ids(data),
                actor_countries(data),
                EventPlaces.of(doc),
                place_points(data),
            )

    @classmethod
    def read(cls, path: Path) -> Loaded:
        """The file read (record by record where it reads so: ``load_bytes``, a large one
        from a mapped copy), in a forked process (``forks.in_child``: the records' data is
        not kept, nor the memory it took); EditRefused when it cannot be read or parsed.

        Example: ``Loaded.read(Path("events.yaml")).ids["actors"]``.
        """
        try:
            return in_child(lambda: cls._read(Path(path)))
        except OSError as exc:
            raise EditRefused([Problem.unreadable(path, exc)]) from None
        except LoadError as exc:
            raise EditRefused([Problem.unloadable(path, exc)]) from None


def add_event(
    path: Path,
    event: dict,
    *,
    dry_run: bool = False,
    loaded: Loaded | None = None,
    db_path: Path | None = None,
) -> Insertion:
    """Validate the file with ``event`` added and, unless ``dry_run``, write it.

    The write holds the file's lock, is atomic and keeps the file's identity
    (see :mod:`timeline.files`). Raises EditRefused (file untouched) when the
    result would not validate, WriteRefused when it cannot be written safely.
    ``loaded`` is the file as read earlier by the same command (for its prompts);
    it is used only if the file still holds exactly those bytes. ``db_path``: a database
    built from the file; while it is up to date, the new event is placed and checked
    from it, without parsing the whole file (the same bytes are written either way).

    Otherwise the whole file with the event is checked from a copy of the file's bytes
    (``_checked_whole``), before the file is read to be rewritten, so that its bytes are not
    held beside the records of that check; the result is written only if the file still
    holds the bytes checked (by their digest: an editor may write without the lock), else
    checked again.

    Example::

        insertion = add_event(Path("events.yaml"), {"id": "...", "date": "2021-04", ...})
    """
    _refuse_unwritable_values(event, Path(path))
    done: list[Insertion] = []
    checked: list[Checked] = []  # the whole checks made

    def change(current: TextFile) -> bytes | Spliced | None:
        whole = next((c.into(current) for c in checked if c.digest == current.digest), None)
        insertion = whole or (catalogued_insertion(current, event, db_path) if db_path else None)
        if insertion is None:
            raise _CheckWhole
        done.append(insertion)
        return None if dry_run else insertion.data

    try:
        with nullcontext() if dry_run else write_lock(path):
            for _ in range(ATTEMPTS):
                if _written(path, change, dry_run):
                    return done[-1]
                checked.append(_checked_whole(path, event, loaded.take if loaded else None))
    except OSError as exc:
        raise EditRefused([Problem.unreadable(path, exc)]) from None
    except LoadError as exc:
        raise EditRefused([Problem.unloadable(path, exc)]) from None
    raise WriteRefused(
        f"{path} kept changing while the new event was being checked; nothing was written",
        "save your editor's buffer, then run the command again",
    )


class _CheckWhole(Exception):
    """The new event needs the whole file's check, made before the file is read again to
    be rewritten (``_checked_whole``)."""


def _written(
    path: Path, change: Callable[[TextFile], bytes | Spliced | None], dry_run: bool
) -> bool:
    """``rewrite`` of ``path`` by ``change`` under the lock held (only ``change`` when
    ``dry_run``); False when ``change`` asks for the whole file's check first. (Not in the
    caller's ``except`` block: the exception's frames would keep the bytes read alive.)"""
    try:
        if dry_run:
            change(TextFile.read(path))
        else:
            rewrite(path, change, locked=True)
    except _CheckWhole:
        return False
    return True


@dataclass(frozen=True)
class Checked:
    """A whole-file check passed: the digest of the bytes checked, the insertion into them,
    and the byte offset of its block when the block is all that changes (else the insertion
    holds the new file's bytes)."""

    digest: str
    insertion: Insertion
    at: int | None

    def into(self, current: TextFile) -> Insertion:
        """The insertion into ``current`` (which holds the bytes checked), with its bytes."""
        if self.at is None:
            return self.insertion
        data = Spliced(current.raw, self.at, self.insertion.block.encode())
        return dataclasses.replace(self.insertion, data=data)


def _checked_whole(
    path: Path, event: dict, take: Callable[[TextFile], EventPlaces | None] | None
) -> Checked:
    """The insertion of ``event`` into the file, checked with the whole file
    (``_validated_insertion``) from a copy of its bytes (``mapped_copy``: a large one is
    mapped, its pages given back as they are read), in a forked process (``forks.in_child``:
    the records' data is not kept, nor the memory it took). ``take``: the places of the
    file's events as read earlier, if it still holds those bytes (``Loaded.take``). Raises
    EditRefused, OSError or LoadError."""

    def check() -> Checked:
        with mapped_copy(Path(path)) as raw:
            current = TextFile.of(Path(path), raw)
            insertion, at = _validated_insertion(current, event, take and take(current))
            return Checked(current.digest, insertion, at)

    return in_child(check)


def _refuse_unwritable_values(event: dict, path: Path) -> None:
    """Values that cannot be written are refused before anything is laid out: a control
    character or line separator (once in the file, YAML would read U+0085 or U+2028 as a
    line break, not as the value), and a number that is not finite (``--lat nan``: YAML's
    .nan is refused by the loader)."""
    label = f"new event {event.get('id')}"
    problems = []
    for field, value in _leaves(event):
        if isinstance(value, str) and (message := hidden_character(value)):
            problems.append(Problem(str(path), 1, 1, label, field, message, HIDDEN_HINT))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(str(path), 1, 1, label, field,
                                    f"expected a finite number, got {value}",
                                    "give a number, e.g. 50.45"))  # fmt: skip
    if problems:
        raise EditRefused(problems)


def _leaves(value: object, path: str = "") -> list[tuple[str, object]]:
    """Every scalar of a nested value, with its path (``location.latitude``)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _reads_back(insertion: Insertion, event: dict, path: Path) -> None:
    """The block read back must be the event asked for (dates in canonical form)."""
    written = load_text(insertion.block, path).data[0]
    if written != canonical_record("event", event):
        raise EditRefused(
            [Problem(str(path), insertion.line, 1, f"new event {event.get('id')}", "",
                     "a value would not read back exactly as given",
                     "simplify unusual spacing or characters in the new event's text")],
            insertion.line,
        )  # fmt: skip


def _validated_insertion(
    current: TextFile, event: dict, places: EventPlaces | None
) -> tuple[Insertion, int | None]:
    """The insertion, once the whole resulting file is parsed and validated (once), and the
    byte offset of its block (None: the insertion holds the new file's bytes). A file that
    reads record by record is placed in its bytes (``_placed_in_bytes``, from ``places``
    when given: the file read earlier); neither it nor the result is then held as a text or
    a node graph."""
    try:
        with paused_gc():
            doc = None if places else load_bytes(current.raw, current.path)
            places = places or EventPlaces.of(doc)
            placed = places and _placed_in_bytes(current, places, event)
            if not placed:  # read whole (an alias, ...), an empty events list, a lone CR
                doc = doc if doc and doc.root else load_text(current.text, current.path)
                insertion = insert_event(current.text, doc, event)
                data = current.encode(insertion.text, convert_newlines=False)
                insertion, at = dataclasses.replace(insertion, data=data), None
            else:
                insertion, at = placed
                data = Spliced(current.raw, at, insertion.block.encode())
            doc = None  # hold one parsed file at a time: at 100,000 events each is gigabytes
            with pieces_of(data) as chunks:
                after = _checked_bytes(chunks, current.path)
    except LoadError as exc:
        # Nowhere to insert, or no valid result: the file's own errors (e.g. a null
        # events section) say why, when it has some.
        raise EditRefused(_own_errors(current) or [Problem.unloadable(current.path, exc)]) from None
    if not after.ok:
        raise EditRefused(_positions_in_current_file(after.errors, insertion), insertion.line)
    _reads_back(insertion, event, current.path)
    return insertion, at


def _placed_in_bytes(
    current: TextFile, places: EventPlaces, event: dict
) -> tuple[Insertion, int] | None:
    """The insertion ``insert_event`` makes, and the byte offset of its block, in a file
    read record by record from its bytes: its place from the events' order and the parse
    of the one event before it (``_after_content``). None for bytes whose lines YAML counts
    otherwise."""
    raw = current.raw
    if _lone_carriage_return(raw):
        return None
    order, pieces = event_order(event), places.pieces
    later = next((k for k, o in enumerate(places.orders) if o and o > order), len(pieces))
    if later == 0:  # on the line after the 'events:' key's own, as ``insertion_point`` says
        at = raw.find(b"\n", places.key_start) + 1
    else:
        at = _after_content(raw, pieces[later - 1].start, pieces[later - 1].end, places.column)
    return _insertion_at(raw, at, places.column, current.newline, event)


def _insertion_at(
    raw: bytes, at: int | None, column: int, newline: str, event: dict
) -> tuple[Insertion, int] | None:
    """The block of ``event`` (its dash at ``column``, its lines ended by ``newline``) to go
    at byte ``at`` of ``raw``, and ``at``; None without a place, or at the end of a last
    line with no line break (the whole-file path gives that line its break)."""
    if not at or (at == len(raw) and not raw.endswith(b"\n")):
        return None
    block = dump_record("event", event, " " * column).replace("\n", newline)
    return Insertion(block, raw.count(b"\n", 0, at) + 1), at


def _lone_carriage_return(raw: bytes) -> bool:
    """Whether ``raw`` holds a carriage return that is not part of CRLF: YAML reads one as
    a line break, so counting line feeds would not give YAML's lines."""
    return b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")


def _checked_bytes(chunks: list[bytes | memoryview], path: Path) -> Result:
    """The file made of ``chunks`` validated. A large one is read from a mapped temporary
    file (``mapped_joined``): the bytes are not held beside its records' data. LoadError
    when it cannot be read."""
    with mapped_joined(chunks) as data:
        return validate_document(load_bytes(data, path), model=False)


def built_first(path: Path, db_path: Path) -> bool:
    """Build the database of a file of BUILT_FIRST_BYTES or more that has none at
    ``db_path``, for ``add`` to place its event from; False when it was not built (a
    smaller file, a database already there, or a build that failed: a file with errors,
    which the whole file's check then reports with the new event, or a database that
    cannot be written).

    Example::

        built_first(Path("events.yaml"), Path("record.db"))  # then add_event(..., db_path=...)

    The build runs in a forked process (``forks.in_child``): the memory it took is not
    kept by this one, which the processes ``add`` forks next would count as theirs.
    """
    from .build import InvalidInput, build_file

    def build() -> bool:
        try:
            build_file(Path(path), Path(db_path))
        except (InvalidInput, WriteRefused, OSError):
            return False
        return True

    try:
        if Path(db_path).exists() or Path(path).stat().st_size < BUILT_FIRST_BYTES:
            return False
    except OSError:
        return False
    return in_child(build)


def catalogued(
    db_path: Path, path: Path, raw: bytes | None, look: Callable[[Catalog], T]
) -> T | None:
    """``look(catalog)`` of the database built from the file at ``path`` (whose bytes are
    ``raw``; read when None): as it is while it is up to date with them; else as a build
    would update it after an edit, in a transaction rolled back after the look
    (``build.tried_edit``). None when neither can be; raises Unsettled when the records
    changed since that build have errors.

    Example::

        ids = catalogued(Path("record.db"), Path("events.yaml"), None, Catalog.ids)
    """
    from .build import tried_edit
    from .catalog import Catalog, open_catalog

    with open_catalog(db_path, path, raw) as catalog:
        if catalog is not None:
            return look(catalog)
    if not Path(db_path).exists():
        return None
    try:
        raw = Path(path).read_bytes() if raw is None else raw
    except OSError:
        return None

    def trial(conn: sqlite3.Connection, _counts: dict) -> T | None:
        return look(Catalog(conn))

    return tried_edit(Path(path), raw, Path(db_path), trial)


def catalogued_insertion(current: TextFile, event: dict, db_path: Path) -> Insertion | None:
    """The insertion ``insert_event`` makes, found with the database built from the file
    (its event order and spans; ``catalogued``) and checked against it, parsing only the
    event before the new one and the new one. EditRefused when the new event has errors
    (at the lines it would take); None when the database does not describe the file, or
    the new event needs the whole file's check (a duplicate, which names the other line).
    """
    raw = current.raw or current.encode(current.text, convert_newlines=False)
    if _lone_carriage_return(raw):
        return None
    with paused_gc():
        try:
            insertion = catalogued(
                db_path, current.path, raw, lambda cat: _placed(cat, current, raw, event)
            )
        except Unsettled:  # the file's changed records have errors: the whole check says
            return None
    if isinstance(insertion, EditRefused):  # (raised once the database is closed)
        raise insertion
    if insertion is not None:
        _reads_back(insertion, event, current.path)
    return insertion


def _placed(
    cat: Catalog, current: TextFile, raw: bytes, event: dict
) -> Insertion | EditRefused | None:
    """The insertion of ``event`` into the file ``raw`` that ``cat`` describes, or the
    refusal of an event with errors (``_refusal_in_place``)."""
    spans, order = cat.spans, event_order(event)
    if spans is None:
        return None
    keys = cat.sort_keys()
    later = next((k for k, i in enumerate(spans.ids) if (keys[i], i) > order), None)
    if later == 0:
        return None  # before the first event: its place follows the 'events:' key
    offsets, index = spans.offsets(), len(spans.ids) if later is None else later
    start, end = offsets[index], offsets[index + 1]  # the event the new one follows
    at = _after_content(raw, start, end, spans.column)
    placed = _insertion_at(raw, at, spans.column, current.newline, event)
    if placed is None:
        return None
    insertion, at = placed
    block = insertion.block.encode()
    stretch = Spliced(raw[start:end], at - start, block)
    if not _only_inserted(stretch, spans.column, event, current.path):
        return None
    reparsed = reparse(block, spans.column, current.path)
    unchanged = cat.unchanged((), [event.get("id")])
    checked = validate_changed(reparsed.doc, unchanged, suggestions=cat.ids_on_demand())
    if not checked.ok:
        return _refusal_in_place(checked.errors, reparsed.doc, insertion.line)
    return dataclasses.replace(insertion, data=Spliced(raw, at, block))


def _refusal_in_place(problems: list[Problem], doc: Document, line: int) -> EditRefused | None:
    """The refusal the whole file's check would make, of a new event whose block starts
    at ``line`` and has these ``problems`` (found in ``doc``, the block read alone, against
    the rest of a valid file): each at the line it would take. None when one is a
    duplicate, whose message names the other record's line: the whole check says it."""
    if any(p.message.startswith("duplicate") for p in problems):
        return None
    shift = line - doc.mark(("events", 0)).line
    placed = [dataclasses.replace(p, line=p.line + shift) for p in problems]
    return EditRefused(sorted(placed, key=lambda p: (p.line, p.column)), line)


def _after_content(raw: bytes, start: int, end: int, column: int) -> int | None:
    """The byte offset of the line after the last value of the event whose bytes run from
    ``start`` to ``end`` (where ``insertion_point`` puts a new event after it), from a parse
    of that event alone (its dash at ``column``)."""
    try:
        reparsed = reparse(raw[start:end], column, Path("event"))
    except (NotAList, LoadError):
        return None
    events = next(v for k, v in reparsed.doc.root.value if k.value == "events")
    line = _line_after(_content_end(events.value[0]))  # in the parsed "events:\n" + event
    at = start
    for _ in range(line - 1):
        at = raw.find(b"\n", at, end) + 1
        if at == 0:
            return None
    return at


def _only_inserted(stretch: Spliced, column: int, event: dict, path: Path) -> bool:
    """Whether a stretch of a file (``stretch.base``: its bytes from an event's dash at
    ``column`` to the next event's, or to where the list ends) with the new event's block
    put in reads as the same events with ``event`` added, and no other change.

    The rest of the file keeps its bytes, and the stretch starts and ends where an event
    starts: so the whole file reads as the old events with ``event`` added, and the next
    build reads this stretch again and no other (its walk finds the change here)."""
    try:
        before = reparse(stretch.base, column, path).items
        items = list(reparse(stretch.joined(), column, path).items)
    except (NotAList, LoadError):
        return False
    added = canonical_record("event", event)
    if added not in items:
        return False
    items.remove(added)
    return items == before


def _own_errors(current: TextFile) -> list[Problem]:
    """The errors of the file as it is (none when it cannot even be parsed)."""
    try:
        with paused_gc():
            return validate_document(load_bytes(current.raw, current.path), model=False).errors
    except LoadError:
        return []


def _positions_in_current_file(problems: list[Problem], insertion: Insertion) -> list[Problem]:
    """Problems of the file as it would be, placed in the file as it is: the lines below
    the new block move up by its length; the new event's own keep the block's lines."""
    start, length = insertion.line, insertion.block.count("\n")
    return [
        dataclasses.replace(p, line=p.line - length) if p.line >= start + length else p
        for p in problems
    ]


def known_ids(data: object) -> dict[str, list[str]]:
    """Ids a curator can refer to, for prompts and completion, from the loaded file.

    Example: ``known_ids({"actors": [{"id": "baykar"}]})["actors"] == ["baykar"]``.
    """
    return {
        name: [r["id"] for r in _records(data, name) if isinstance(r.get("id"), str)]
        for name in ("actors", "sources", "events")
    }


def actor_countries(data: object) -> dict[str, str]:
    """Each actor's country code, as written in the loaded file."""
    return {
        r["id"]: r["country"]
        for r in _records(data, "actors")
        if isinstance(r.get("id"), str) and isinstance(r.get("country"), str)
    }


def place_points(data: object) -> dict[str, list[tuple[float, float]]]:
    """The points the loaded file's events give each place name (``places.points_by_name``)."""
    return points_by_name(map(event_place, _records(data, "events")))


def _records(data: object, name: str) -> list[dict]:
    """The mapping items of a section of the loaded file (none when it is not a list)."""
    items = data.get(name) if isinstance(data, dict) else None
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []
