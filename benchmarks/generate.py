"""A deterministic generator of realistic timelines of any size, modelled on ``events.yaml``.

Run ``python benchmarks/generate.py 100000 -o /tmp/events-100k.yaml`` (``--seed`` picks
another sample), or import ``realistic_yaml(n, seed=0)``.

Each generated event is a copy of a real event (picked at random, so types, statuses, date
precisions and qualifiers, numbers of actors, citations, systems and relations, text lengths,
tags, countries and locations follow the real distributions) with:

* a new date: the real one moved back by up to two years at the same precision and with
  the same qualifier (moved back only, so a confirmed event never lands in the future);
* a new unique id (the new date, the real id's words, a serial number) and the serial
  number in the title (two copies of one event may share a date; the validator refuses two
  events with the same date and title);
* references re-drawn so the data grows the way a real archive would: states, government
  bodies, armed forces and organisations stay the same actors (Turkey is in as large a share
  of the events as in the real file), while people, companies and media become numbered
  copies drawn from a long-tailed distribution (a few copies are frequent, most are rare);
  every citation cites a numbered copy of its real source (each copy cited about as often
  as a real source is), and weapon systems are the real ones;
* relations to the latest earlier generated copy of the related real event, so ``part_of``
  and ``follows`` chains cannot loop; a ``follows`` or ``responds_to`` relation only when
  that copy begins no later than this event ends (it names an earlier event).

Only sources and actors that are referred to are written. The file passes
``timeline validate`` and ``timeline fmt --check``: every record is laid out by the
project's own ``timeline.layout.dump_record``. Laying out 100,000 events one by one takes
minutes (PyYAML's emitter is pure Python), so each real record is laid out once as a
prototype whose variable values (ids, dates, serial numbers) are markers of exactly the
length the real values will have; a generated record is that prototype with the markers
replaced. Values of equal length and character class lay out identically, and the tests
compare the result with ``timeline fmt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from timeline.dates import DateError, parse_date
from timeline.layout import dump_record
from timeline.schema import ORDERED_RELATIONS

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "events.yaml"

# Actors of these kinds are institutions a larger archive would not multiply.
KEPT_ACTOR_KINDS = frozenset({"state", "government-body", "armed-forces", "organisation"})
MAX_SHIFT_DAYS = 730
MAX_SHIFT_MONTHS = 24
_DATE_PREFIX = re.compile(r"^[0-9]{4}(?:-[0-9]{2}){0,2}-")
_ENDPOINT = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?(?:-([0-9]{2}))?([?~%]?)")

Key = tuple[str, ...]


# -- markers ----------------------------------------------------------------------------------


def _marker(slot: int, length: int) -> str:
    """A lower-case word of ``length`` characters naming ``slot``: 'qj' + the slot in base 8
    (letters a-h) + 'z' padding. No marker contains another (only one 'q', at the start)."""
    digits = ""
    while True:
        digits = "abcdefgh"[slot % 8] + digits
        slot //= 8
        if not slot:
            break
    word = "qj" + digits
    if len(word) > length:
        raise ValueError(f"no room for a marker of slot {slot} in {length} characters")
    return word.ljust(length, "z")


def _date_marker(canonical: str) -> str:
    """A stand-in date of the same shape: every digit a 9 (quoted alike; not a real date, so
    the layout passes it through unchanged)."""
    return re.sub("[0-9]", "9", canonical)


class _Slots:
    """Collects the variable values of one record, in the order they are first asked for."""

    def __init__(self, value: Callable[[Key], str]):
        self.value = value  # a key → the value (or a marker of the value's length)
        self.keys: list[Key] = []
        self.seen: dict[Key, str] = {}

    def __call__(self, key: Key) -> str:
        if key not in self.seen:
            self.keys.append(key)
            self.seen[key] = self.value(key)
        return self.seen[key]


@dataclass(frozen=True)
class Prototype:
    """A laid-out record split at its markers: ``texts[0] key[0] texts[1] key[1] …``."""

    texts: tuple[str, ...]
    keys: tuple[Key, ...]

    def render(self, values: dict[Key, str]) -> str:
        out = [self.texts[0]]
        for key, text in zip(self.keys, self.texts[1:], strict=True):
            out.append(values[key])
            out.append(text)
        return "".join(out)


def _prototype(kind: str, build: Callable[[_Slots], dict], lengths: Callable[[Key], int],
               date_shape: str | None = None) -> tuple[Prototype, list[Key]]:  # fmt: skip
    """Lay out the record ``build`` makes, with markers for its variable values.

    Returns the prototype and the record's slot keys in the order the record asks for them
    (the order in which a generated record must draw its random values)."""
    counter = iter(range(1_000_000))
    markers: dict[str, Key] = {}

    def marker(key: Key) -> str:
        word = (
            _date_marker(date_shape) if key == ("date",) else _marker(next(counter), lengths(key))
        )
        markers[word] = key
        return word  # fmt: skip

    slots = _Slots(marker)
    text = dump_record(kind, build(slots))
    pattern = re.compile("(" + "|".join(map(re.escape, markers)) + ")")
    pieces = pattern.split(text) if markers else [text]
    keys = tuple(markers[p] for p in pieces[1::2])
    if set(keys) != set(markers.values()):
        raise AssertionError(f"a marker of a {kind} was lost in its layout")  # never silent
    return Prototype(tuple(pieces[0::2]), keys), slots.keys


# -- dates ------------------------------------------------------------------------------------


def _endpoints(canonical: str) -> list[tuple[int, int | None, int | None, str]]:
    out = []
    for part in canonical.split("/"):
        y, m, d, q = _ENDPOINT.fullmatch(part).groups()
        out.append((int(y), int(m) if m else None, int(d) if d else None, q))
    return out


def _write_endpoint(day: dt.date, month: int | None, has_day: bool, qualifier: str) -> str:
    text = f"{day.year:04d}"
    if month is not None:
        text += f"-{day.month:02d}"
    if has_day:
        text += f"-{day.day:02d}"
    return text + qualifier


def shifted_date(canonical: str, rng: random.Random) -> str:
    """``canonical`` moved back by a random amount at the same precision and qualifiers,
    as a canonical date of the same length (the original when no try gives one)."""
    ends = _endpoints(canonical)
    for _ in range(5):
        if all(d is not None for _, _, d, _ in ends):  # all days: shift by days
            delta = dt.timedelta(days=-rng.randint(0, MAX_SHIFT_DAYS))
            parts = [_write_endpoint(dt.date(y, m, d) + delta, m, True, q) for y, m, d, q in ends]
        else:  # months (a year-precision end moves by whole years)
            months = -rng.randint(0, MAX_SHIFT_MONTHS)
            parts = []
            for y, m, d, q in ends:
                if m is None:
                    day = dt.date(y + math.floor(months / 12), 1, 1)
                else:
                    total = y * 12 + (m - 1) + months
                    day = dt.date(total // 12, total % 12 + 1, min(d or 1, 28))
                parts.append(_write_endpoint(day, m, d is not None, q))
        text = "/".join(parts)
        try:
            if parse_date(text).canonical == text and len(text) == len(canonical):
                return text
        except DateError:
            continue  # e.g. an interval that now ends before it starts: draw again
    return canonical


# -- the generator ----------------------------------------------------------------------------


class _Real:
    """The real file, indexed for generation."""

    def __init__(self, path: Path):
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        self.sources: list[dict] = data["sources"]
        self.actors: list[dict] = data["actors"]
        self.systems: list[dict] = data.get("systems") or []
        self.events: list[dict] = data["events"]
        self.event_index = {e["id"]: i for i, e in enumerate(self.events)}
        self.kept_actors = {a["id"] for a in self.actors if a["kind"] in KEPT_ACTOR_KINDS}
        self.dates = [parse_date(e["date"]).canonical for e in self.events]


# Tests make many small files from one real file: it is read once per process while its
# size and modification time stay as they were (the generator never changes what it reads).
@functools.lru_cache(maxsize=4)
def _indexed(path: Path, stamp: tuple[int, int]) -> _Real:
    return _Real(path)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


class Generator:
    """Makes ``n`` events modelled on the real file; ``lines()`` yields the file's text."""

    def __init__(self, n: int, seed: int = 0, real: Path = REAL):
        if n < 0:
            raise ValueError("the number of events cannot be negative")
        self.n, self.seed = n, seed
        self.real = _indexed(Path(real).resolve(), _stamp(Path(real)))
        self.rng = random.Random(seed)
        self.scale = max(1, math.ceil(n / len(self.real.events)))  # copies of each real record
        self.w_event = max(6, len(str(max(n - 1, 0))))
        self.w_copy = max(4, len(str(self.scale - 1)))
        self.prototypes: dict[tuple[int, tuple[bool, ...]], tuple[Prototype, list[Key]]] = {}
        self.used_sources: set[tuple[int, int]] = set()
        self.used_actors: set[tuple[int, int]] = set()
        self.source_index = {s["id"]: i for i, s in enumerate(self.real.sources)}
        self.actor_index = {a["id"]: i for i, a in enumerate(self.real.actors)}

    # ids of copies
    def copy_id(self, real_id: str, k: int) -> str:
        return f"{real_id}-g{k:0{self.w_copy}d}"

    def event_id(self, template: int, date: str, serial: int) -> str:
        real_id = self.real.events[template]["id"]
        prefix = _ENDPOINT.match(date).group(0).rstrip("?~%")  # the first end, no qualifier
        return f"{prefix}-{_DATE_PREFIX.sub('', real_id)}-{serial:0{self.w_event}d}"

    def _actor_ref(self, slots: _Slots, actor: str | None) -> str | None:
        if actor is None or actor in self.real.kept_actors:
            return actor
        return slots(("actor", actor))

    def _event_record(self, template: int, mask: tuple[bool, ...], slots: _Slots) -> dict:
        """The event as a mapping, its variable values taken from ``slots``."""
        real = self.real.events[template]
        event = {
            k: v for k, v in real.items()
            if k not in ("id", "date", "title", "actors", "systems", "citations", "related")
        }  # fmt: skip
        event["id"] = slots(("id",))
        event["date"] = slots(("date",))
        event["title"] = f"{real['title']} ({slots(('title',))})"
        event["actors"] = [
            {**a, "actor": self._actor_ref(slots, a["actor"])} for a in real.get("actors") or []
        ]
        source = lambda s: slots(("source", s)) if s is not None else None  # noqa: E731
        # citations before systems: a system entry's source is one the event cites
        citations = [{**c, "source": source(c["source"])} for c in real["citations"]]
        if real.get("systems"):
            event["systems"] = [
                {**x, **{f: self._actor_ref(slots, x.get(f)) for f in ("supplier", "recipient")
                         if x.get(f) is not None},
                 **{f: source(x.get(f)) for f in ("source", "value_source")
                    if x.get(f) is not None}}
                for x in real["systems"]
            ]  # fmt: skip
        event["citations"] = citations
        related = [
            {**r, "event": slots(("related", str(i)))}
            for i, r in enumerate(real.get("related") or [])
            if mask[i]
        ]
        if related:
            event["related"] = related
        return event

    def _length(self, template: int, key: Key) -> int:
        """How long the value of ``key`` is in every copy of event ``template``."""
        kind = key[0]
        if kind == "id":
            return len(self.event_id(template, self.real.dates[template], 0))
        if kind == "title":
            return self.w_event
        if kind in ("actor", "source"):
            return len(self.copy_id(key[1], 0))
        if kind == "related":
            target = self.real.event_index[self.real.events[template]["related"][int(key[1])]
                                           ["event"]]  # fmt: skip
            return len(self.event_id(target, self.real.dates[target], 0))
        raise KeyError(key)

    def prototype(self, template: int, mask: tuple[bool, ...]) -> tuple[Prototype, list[Key]]:
        cached = self.prototypes.get((template, mask))
        if cached is None:
            cached = _prototype(
                "event",
                lambda slots: self._event_record(template, mask, slots),
                lambda key: self._length(template, key),
                date_shape=self.real.dates[template],
            )
            self.prototypes[(template, mask)] = cached
        return cached

    def events(self) -> list[tuple[str, str, Prototype, dict[Key, str]]]:
        """(sort key, id, prototype, values) of every event, in generation order."""
        rng, real = self.rng, self.real
        # real event → (id, first day) of its latest copy so far
        latest: dict[int, tuple[str, dt.date]] = {}
        out = []
        for serial in range(self.n):
            template = rng.randrange(len(real.events))
            relations = real.events[template].get("related") or []
            date = shifted_date(real.dates[template], rng)
            parsed = parse_date(date)
            targets = [
                copy[0] if copy and (r["type"] not in ORDERED_RELATIONS or copy[1] <= parsed.end)
                else None  # a relation to an earlier event, to a copy dated later: left out
                for r in relations
                for copy in [latest.get(real.event_index[r["event"]])]
            ]  # fmt: skip
            proto, keys = self.prototype(template, tuple(t is not None for t in targets))
            values: dict[Key, str] = {}
            for key in keys:
                kind = key[0]
                if kind == "id":
                    values[key] = self.event_id(template, date, serial)
                elif kind == "date":
                    values[key] = date
                elif kind == "title":
                    values[key] = f"{serial:0{self.w_event}d}"
                elif kind == "actor":
                    # long tail: k = 0 is the most frequent copy, high k are rare
                    k = min(int(self.scale ** rng.random()) - 1, self.scale - 1)
                    self.used_actors.add((self.actor_index[key[1]], k))
                    values[key] = self.copy_id(key[1], k)
                elif kind == "source":
                    k = rng.randrange(self.scale)
                    self.used_sources.add((self.source_index[key[1]], k))
                    values[key] = self.copy_id(key[1], k)
                elif kind == "related":
                    values[key] = targets[int(key[1])]
            latest[template] = values[("id",)], parsed.start
            out.append((parsed.sort_key, values[("id",)], proto, values))
        return out

    # sources, actors and systems

    def _copies(self, kind: str, record: dict, used: list[int],
                name: bool = False) -> Iterator[str]:  # fmt: skip
        """Layouts of the used copies of one real source or actor."""
        if not used:
            return

        def build(slots: _Slots) -> dict:
            copy = {**record, "id": slots(("id",))}
            if name:
                copy["name"] = f"{record['name']} ({slots(('name',))})"
            return copy

        lengths = {("id",): len(self.copy_id(record["id"], 0)), ("name",): self.w_copy}
        proto, _ = _prototype(kind, build, lengths.__getitem__)
        for k in used:
            yield proto.render({("id",): self.copy_id(record["id"], k),
                                ("name",): f"{k:0{self.w_copy}d}"})  # fmt: skip

    def lines(self) -> Iterator[str]:
        """The file's text, in pieces, in canonical layout."""
        started = time.perf_counter()
        events = self.events()
        events.sort(key=lambda e: (e[0], e[1]))  # the canonical order: date, then id
        systems = []
        for system in self.real.systems:
            maker = system.get("maker")
            if maker is not None and maker not in self.real.kept_actors:
                self.used_actors.add((self.actor_index[maker], 0))
                system = {**system, "maker": self.copy_id(maker, 0)}
            systems.append(system)
        yield (
            f"# A synthetic timeline of {self.n} events for benchmarks, generated by\n"
            f"# benchmarks/generate.py (seed {self.seed}) from events.yaml. Not real data.\n"
        )
        by_source: dict[int, list[int]] = {}
        for i, k in sorted(self.used_sources):
            by_source.setdefault(i, []).append(k)
        by_actor: dict[int, list[int]] = {}
        for i, k in sorted(self.used_actors):
            by_actor.setdefault(i, []).append(k)
        yield "sources:\n" if by_source else "sources: []\n"
        for i, source in enumerate(self.real.sources):
            yield from self._copies("source", source, by_source.get(i, []))
        yield "actors:\n"
        for i, actor in enumerate(self.real.actors):
            if actor["id"] in self.real.kept_actors:
                yield dump_record("actor", actor)
            else:
                yield from self._copies("actor", actor, by_actor.get(i, []), name=True)
        yield "systems:\n" if systems else "systems: []\n"
        for system in systems:
            yield dump_record("system", system)
        yield "events:\n" if events else "events: []\n"
        for _, _, proto, values in events:
            yield proto.render(values)
        self.seconds = time.perf_counter() - started


def realistic_yaml(n: int, seed: int = 0, real: Path = REAL) -> str:
    """The text of a valid, canonical timeline of ``n`` events modelled on ``real``.

    Example::

        >>> text = realistic_yaml(3, seed=1)
        >>> text.count("\\n  - id: ") >= 3
        True
    """
    return "".join(Generator(n, seed, real).lines())


def write_realistic(n: int, path: Path, seed: int = 0, real: Path = REAL) -> Path:
    """Write ``realistic_yaml(n, seed)`` to ``path`` piece by piece."""
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(Generator(n, seed, real).lines())
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of events")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.output is None:
        sys.stdout.writelines(Generator(args.n, args.seed).lines())
        return 0
    write_realistic(args.n, args.output, args.seed)
    size = args.output.stat().st_size / 2**20
    print(
        f"wrote {args.output}: {args.n} events, {size:.1f} MiB in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
