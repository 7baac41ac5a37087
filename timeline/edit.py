"""Safe edits of ``events.yaml``: insert one event at its chronological place.

Only the inserted block is new; every other byte of the file stays as it was.
The whole resulting file is validated before anything is written, and the
write is atomic (temporary file in the same directory, then rename), keeping
the file's permissions.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .dates import parse_date
from .layout import INDENT, dump_record, event_order
from .load import Document, LoadError, decode, load_text
from .validate import Problem, Result, validate_bytes, validate_document

MAX_ID_WORDS = 6


class EditRefused(Exception):
    """The edit would leave the file invalid; ``problems`` says why. Nothing was written."""

    def __init__(self, problems: list[Problem], line: int | None = None):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.line = line  # where the new event would have started


@dataclass(frozen=True)
class Insertion:
    text: str  # the whole new file
    block: str  # the inserted lines
    line: int  # 1-based line where the block starts


def suggest_id(date: object, title: str, taken: set[str] = frozenset()) -> str:
    """A stable slug from the date as written and the first words of the title.

    Example::

        >>> suggest_id("2021-04-10", "Zelensky meets Erdoğan in Istanbul")
        '2021-04-10-zelensky-meets-erdogan-in-istanbul'
    """
    try:
        prefix = parse_date(date).canonical.split("/")[0].rstrip("?~%")
    except ValueError:
        prefix = "undated"
    words = re.findall(r"[a-z0-9]+", _ascii(title.lower()))[:MAX_ID_WORDS]
    base = "-".join([prefix, *words]) if words else prefix
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _ascii(text: str) -> str:
    table = str.maketrans({"ı": "i", "ş": "s", "ğ": "g", "ç": "c", "ö": "o", "ü": "u"})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return decomposed.encode("ascii", "ignore").decode()


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _back_over_comments(lines: list[str], index: int) -> int:
    """Move an insertion index up over the comment lines that belong to what follows."""
    while index > 0 and _is_comment_or_blank(lines[index - 1]):
        index -= 1
    return index


def insertion_point(doc: Document, lines: list[str], event: dict) -> tuple[int, bool]:
    """0-based line before which the event goes; True if ``events: []`` must be opened."""
    events = doc.data.get("events") or []
    later = [
        i
        for i, raw in enumerate(events)
        if isinstance(raw, dict) and event_order(raw) > event_order(event)
    ]
    if later:
        return _back_over_comments(lines, doc.values[("events", later[0])].line), False
    section = doc.keys[("events",)].line
    if not events:
        return section + 1, True
    following = [m.line for p, m in doc.keys.items() if len(p) == 1 and m.line > section]
    end = min(following) if following else len(lines)
    return _back_over_comments(lines, end), False


def insert_event(text: str, doc: Document, event: dict) -> Insertion:
    """The file text with ``event`` inserted in canonical layout at its chronological place."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    index, open_list = insertion_point(doc, lines, event)
    if open_list:
        section = doc.keys[("events",)].line
        if not re.fullmatch(r"events:\s*(\[\s*\])?\s*(#.*)?\n?", lines[section]):
            raise LoadError("cannot insert into this 'events:' line", hint="write 'events: []'")
        lines[section] = re.sub(r":\s*\[\s*\]", ":", lines[section], count=1)
    block = dump_record("event", event, INDENT)
    new_text = "".join(lines[:index]) + block + "".join(lines[index:])
    return Insertion(new_text, block, index + 1)


def add_event(path: Path, event: dict, *, dry_run: bool = False) -> Insertion:
    """Validate the file with ``event`` added and, unless ``dry_run``, write it atomically.

    Raises EditRefused (file untouched) when the result would not validate.

    Example::

        insertion = add_event(Path("events.yaml"), {"id": "...", "date": "2021-04", ...})
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise EditRefused([Problem.unreadable(path, exc)]) from None
    try:
        text = decode(raw)
        doc = load_text(text, Path(path))
    except LoadError as exc:
        raise EditRefused([Problem.unloadable(path, exc)]) from None
    before = validate_document(doc)  # the file as it is, parsed once above
    if not before.ok:
        raise EditRefused(before.errors)
    insertion = insert_event(text, doc, event)
    after = validate_bytes(insertion.text.encode("utf-8"), Path(path))
    if not after.ok:
        raise EditRefused(after.errors, insertion.line)
    if not dry_run:
        write_atomically(Path(path), insertion.text)
    return insertion


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` via a temporary sibling and rename, keeping its mode."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def known_ids(result: Result) -> dict[str, list[str]]:
    """Ids a curator can refer to, for prompts and completion."""
    data = result.dataset
    if data is None:
        return {"actors": [], "sources": [], "events": []}
    return {
        "actors": [a.id for a in data.actors],
        "sources": [s.id for s in data.sources],
        "events": [e.id for e in data.events],
    }
