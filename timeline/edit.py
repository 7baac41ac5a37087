"""Safe edits of ``events.yaml``: insert one event at its chronological place.

Only the inserted block is new; every other byte of the file stays as it was.
The whole resulting file is validated before anything is written; the write
is locked against other writers and atomic (see :mod:`timeline.files`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from .comments import TokenMap
from .dates import parse_date
from .files import TextFile, rewrite
from .layout import INDENT, canonical_record, dump_record, event_order
from .load import HIDDEN_HINT, Document, LoadError, hidden_character, load_text
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


def insertion_point(doc: Document, tokens: TokenMap, event: dict) -> int:
    """0-based line before which ``event`` goes, with the comments above that place kept
    with what follows them. Positions come from the parser's marks and the scanner's
    tokens, so a line of a block scalar that starts with ``#`` is never taken for a comment.
    """
    events = doc.data.get("events") or []
    later = [
        i
        for i, raw in enumerate(events)
        if isinstance(raw, dict) and event_order(raw) > event_order(event)
    ]
    if later:
        return tokens.gap_start(doc.values[("events", later[0])].line)
    section = doc.keys[("events",)].line
    following = [m.line for p, m in doc.keys.items() if len(p) == 1 and m.line > section]
    return tokens.gap_start(min(following) if following else len(tokens.lines))


def insert_event(text: str, doc: Document, event: dict) -> Insertion:
    """The file text with ``event`` inserted in canonical layout at its chronological place.

    Every other byte stays as it was; the block uses the file's own line ending.
    """
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1] else "\n"
    events_node = doc.values[("events",)]
    if not doc.data.get("events"):
        text = _open_empty_list(text, events_node)
    tokens = TokenMap(text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    index = insertion_point(doc, tokens, event)
    block = dump_record("event", event, INDENT).replace("\n", newline)
    new_text = "".join(lines[:index]) + block + "".join(lines[index:])
    return Insertion(new_text, block, index + 1)


def _open_empty_list(text: str, mark: yaml.Mark) -> str:
    """``events: []`` becomes ``events:`` so block items can follow it."""
    if text.startswith("[", mark.index):
        close = text.find("]", mark.index)
        if close > 0 and not text[mark.index + 1 : close].strip():
            return text[: mark.index].rstrip(" \t") + text[close + 1 :]
    raise LoadError("cannot insert into this 'events:' value", hint="write 'events: []'")


def add_event(path: Path, event: dict, *, dry_run: bool = False) -> Insertion:
    """Validate the file with ``event`` added and, unless ``dry_run``, write it.

    The write holds the file's lock, is atomic and keeps the file's identity
    (see :mod:`timeline.files`). Raises EditRefused (file untouched) when the
    result would not validate, WriteRefused when it cannot be written safely.

    Example::

        insertion = add_event(Path("events.yaml"), {"id": "...", "date": "2021-04", ...})
    """
    done: list[Insertion] = []

    def change(current: TextFile) -> bytes | None:
        done.append(_validated_insertion(current, event))
        return None if dry_run else current.encode(done[-1].text, convert_newlines=False)

    try:
        if dry_run:
            change(TextFile.read(path))
        else:
            rewrite(path, change)
    except OSError as exc:
        raise EditRefused([Problem.unreadable(path, exc)]) from None
    except LoadError as exc:
        raise EditRefused([Problem.unloadable(path, exc)]) from None
    return done[-1]


def _refuse_hidden_characters(event: dict, path: Path) -> None:
    """A value with a control character or line separator is refused before it is written:
    once in the file, YAML would read U+0085 or U+2028 as a line break, not as the value."""
    label = f"new event {event.get('id')}"
    problems = [
        Problem(str(path), 1, 1, label, field, message, HIDDEN_HINT)
        for field, value in _strings(event)
        if (message := hidden_character(value))
    ]
    if problems:
        raise EditRefused(problems)


def _strings(value: object, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


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


def _validated_insertion(current: TextFile, event: dict) -> Insertion:
    _refuse_hidden_characters(event, current.path)
    doc = load_text(current.text, current.path)
    before = validate_document(doc)  # the file as it is, parsed once above
    if not before.ok:
        raise EditRefused(before.errors)
    try:
        insertion = insert_event(current.text, doc, event)
    except LoadError as exc:
        raise EditRefused([Problem.unloadable(current.path, exc)]) from None
    after = validate_bytes(insertion.text.encode("utf-8"), current.path)
    if not after.ok:
        raise EditRefused(after.errors, insertion.line)
    _reads_back(insertion, event, current.path)
    return insertion


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
