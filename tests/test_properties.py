"""Property-based tests: random input never crashes validate or build; dates round-trip.

Random records are generated from ``timeline.schema.RECORDS``: every field gets
either a plausible value for its spec or an arbitrary YAML value (None, bool,
number, text, date, list, mapping), and random unknown keys are mixed in.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from support import examples

from conftest import files_in
from timeline import schema
from timeline.build import InvalidInput, build_file
from timeline.dates import MAX_YEAR, MIN_YEAR, DateError, ParsedDate, parse_date
from timeline.validate import validate_bytes

TODAY = dt.date(2026, 11, 21)
SETTINGS = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVENT_SETTINGS = settings(SETTINGS, max_examples=examples(40))  # each example validates and builds

SOURCE_IDS = ["seed-news", "record"]
ACTOR_IDS = ["baykar", "ukrspecexport", "russia", "analyst"]
EVENT_IDS = ["montreux", "deal", "flights", "claim"]

# -- arbitrary YAML values -------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.dates(min_value=dt.date(1, 1, 1)),
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)

# -- dates -------------------------------------------------------------------------------

MONTHS = list(calendar.month_name)[1:]


@st.composite
def edtf_end(draw, min_year: int = MIN_YEAR) -> tuple[str, ParsedDate | None]:
    year = draw(st.integers(min_value=min_year, max_value=MAX_YEAR))
    precision = draw(st.sampled_from(["year", "month", "day"]))
    text = f"{year:04d}"
    if precision != "year":
        month = draw(st.integers(1, 12))
        text += f"-{month:02d}"
        if precision == "day":
            text += f"-{draw(st.integers(1, calendar.monthrange(year, month)[1])):02d}"
    return text + draw(st.sampled_from(["", "", "~", "?", "%"]))


@st.composite
def human_date(draw) -> str:
    year = draw(st.integers(min_value=MIN_YEAR, max_value=MAX_YEAR))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    name = MONTHS[month - 1]
    return draw(
        st.sampled_from(
            [f"{day} {name} {year}", f"{name} {day}, {year}", f"{name} {year}", f"{year}"]
        )
    )


@st.composite
def interval(draw) -> str:
    first, last = draw(edtf_end()), draw(edtf_end())
    a, b = parse_date(first), parse_date(last)
    if b.end < a.start:
        first, last = last, first
        a, b = b, a
    assume(b.end >= a.start)
    return f"{first}/{last}"


VALID_DATES = st.one_of(edtf_end(), human_date(), interval())
DATE_ALPHABET = st.sampled_from(list("0123456789-/~?%., :T") + MONTHS[:3] + ["Sept", "th "])
DATE_LIKE = st.one_of(
    st.lists(DATE_ALPHABET, max_size=12).map("".join),
    VALID_DATES.map(lambda s: s[: len(s) // 2]),
    st.tuples(VALID_DATES, DATE_ALPHABET).map("".join),
    TEXT,
    st.integers(min_value=-20000, max_value=20000),
    st.dates(),
    st.datetimes(),
)

# -- records from the field specs -------------------------------------------------------


PLAUSIBLE, WILD, WILDEST = 0, 1, 2  # how far field values stray from their spec
ENTRIES = ("event_actor", "citation", "relation")  # records holding references


def plausible(record: str, name: str, fld: schema.Field, wild: int) -> st.SearchStrategy:
    if fld.type == "date":
        return st.one_of(VALID_DATES, DATE_LIKE)
    if fld.type == "number":
        limit = 180 if name == "longitude" else 90
        return st.floats(min_value=-limit * 1.2, max_value=limit * 1.2)
    if fld.type == "map":
        return mapping(fld.item, wild)
    if fld.type == "list[map]":
        return st.lists(mapping(fld.item, wild), max_size=3)
    if fld.type == "list[str]":
        return st.lists(st.sampled_from(["TR", "UA", "RU", "drones", "XX", "tr"]), max_size=3)
    if fld.choices:
        return st.sampled_from(fld.choices)
    references = {
        ("event_actor", "actor"): ACTOR_IDS,
        ("citation", "source"): SOURCE_IDS,
        ("relation", "event"): EVENT_IDS,
        ("event", "id"): EVENT_IDS,
    }
    if (record, name) in references:
        return st.sampled_from([*references[record, name], "unknown-id"])
    if fld.pattern == schema.SLUG:
        return st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
    return st.sampled_from(["Some text", "  ", "", "Quote about drones", "A" * 50])


def arbitrary(record: str, wild: int) -> st.SearchStrategy:
    """Any YAML value; only scalars inside reference entries unless ``wild`` is WILDEST.

    WILDEST also puts lists and mappings inside actors/citations/related entries
    (once a crash: values used as references were put into sets).
    """
    return SCALARS if record in ENTRIES and wild < WILDEST else ANY


@st.composite
def mapping(draw, record: str, wild: int = WILD) -> dict:
    out = {}
    for name, fld in schema.RECORDS[record].items():
        keep = 0.95 if fld.required else 0.5
        if draw(st.floats(0, 1)) < keep:
            value = plausible(record, name, fld, wild)
            if wild and draw(st.integers(0, 2)) == 0:
                value = arbitrary(record, wild)
            out[name] = draw(value)
    if wild and draw(st.integers(0, 9)) == 0:
        key = st.sampled_from(["titel", "Date", "extra"])
        if wild == WILDEST:
            key = st.one_of(key, st.integers(), st.none())
        out[draw(key)] = draw(arbitrary(record, wild))
    return out


def base_sections() -> dict:
    return {
        "sources": [
            {
                "id": sid,
                "title": "A source",
                "publisher": "P",
                "published": "2021",
                "kind": "news",
                "language": "en",
            }
            for sid in SOURCE_IDS
        ],
        "actors": [
            {"id": aid, "name": aid.title(), "kind": "company", "country": "TR"}
            for aid in ACTOR_IDS
        ],
    }


EVENTS = st.lists(mapping("event"), min_size=1, max_size=4)


def check_never_crashes(events: list, tmp: Path) -> None:
    data = base_sections() | {"events": events}
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    yaml_path = tmp / "events.yaml"
    yaml_path.write_text(text, encoding="utf-8")
    result = validate_bytes(text.encode("utf-8"), yaml_path, TODAY)
    for problem in result.problems:
        assert problem.line >= 1 and problem.column >= 1 and problem.message
    db = tmp / "record.db"
    db.unlink(missing_ok=True)
    try:
        built = build_file(yaml_path, db, force=True)
    except InvalidInput as exc:
        assert exc.result.errors
        assert not db.exists()
    else:
        conn = sqlite3.connect(built.db_path)
        try:
            count = conn.execute("select count(*) from events").fetchone()[0]
        finally:
            conn.close()
        assert count == len(events)
    assert files_in(tmp) in (
        ["events.yaml"],
        ["events.yaml", "record.db"],
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("properties")


@EVENT_SETTINGS
@given(events=EVENTS)
def test_random_events_never_crash_validate_or_build(events, scratch):
    check_never_crashes(events, scratch)


@EVENT_SETTINGS
@given(events=st.lists(mapping("event", PLAUSIBLE), min_size=1, max_size=4))
def test_plausible_events_never_crash_and_sometimes_build(events, scratch):
    check_never_crashes(events, scratch)


@settings(max_examples=examples(60), deadline=None, phases=[Phase.generate])
@given(events=st.lists(mapping("event", WILDEST), min_size=1, max_size=4))
def test_random_events_with_nested_references_never_crash(events, tmp_path_factory):
    check_never_crashes(events, tmp_path_factory.mktemp("nested"))


def test_a_valid_generated_file_builds(tmp_path):
    """Guard for the generators: the plausible strategy can produce buildable files."""
    event = {
        "id": "deal",
        "date": "2019",
        "title": "A deal",
        "summary": "Two firms agree.",
        "type": "agreement",
        "status": "confirmed",
        "citations": [{"source": "record", "quote": "They agreed."}],
    }
    check_never_crashes([event], tmp_path)
    assert (tmp_path / "record.db").exists()


@SETTINGS
@given(value=DATE_LIKE)
def test_parse_date_raises_only_date_error(value):
    try:
        parsed = parse_date(value)
    except DateError as exc:
        assert str(exc)
    else:
        assert parsed.start <= parsed.end
        assert parse_date(parsed.canonical) == parsed


@SETTINGS
@given(value=DATE_LIKE)
def test_random_dates_never_crash_validate(value, scratch):
    data = base_sections() | {
        "events": [
            {
                "id": "deal",
                "date": value,
                "title": "A deal",
                "summary": "Two firms agree.",
                "type": "agreement",
                "status": "confirmed",
                "citations": [{"source": "record", "quote": "They agreed."}],
            }
        ]
    }
    text = yaml.safe_dump(data, allow_unicode=True)
    result = validate_bytes(text.encode("utf-8"), scratch / "events.yaml", TODAY)
    assert result.ok or any("date" in f"{p.field} {p.message}" for p in result.errors)


@SETTINGS
@given(text=VALID_DATES)
def test_canonical_round_trips(text):
    parsed = parse_date(text)
    again = parse_date(parsed.canonical)
    assert again == parsed
    assert parse_date(again.canonical).canonical == parsed.canonical


@SETTINGS
@given(
    value=st.one_of(
        st.integers(MIN_YEAR, MAX_YEAR),
        st.dates(min_value=dt.date(MIN_YEAR, 1, 1), max_value=dt.date(MAX_YEAR, 12, 31)),
    )
)
def test_yaml_ints_and_dates_round_trip(value):
    parsed = parse_date(value)
    assert parse_date(parsed.canonical) == parsed


def _strip_qualifiers(label: str) -> str:
    return label.removeprefix("c. ").removesuffix(" (uncertain)")


def _check_single_label(parsed: ParsedDate, label: str) -> None:
    assert label.startswith("c. ") == parsed.approximate
    assert label.endswith(" (uncertain)") == parsed.uncertain
    bare = _strip_qualifiers(label)
    words = bare.split()
    assert words[-1] == str(parsed.year)
    month_words = [w for w in words if w in MONTHS]
    if parsed.precision == "year":
        assert words == [str(parsed.year)]
    elif parsed.precision == "month":
        assert month_words == [MONTHS[parsed.start.month - 1]] and len(words) == 2
    else:
        assert words == [str(parsed.start.day), MONTHS[parsed.start.month - 1], str(parsed.year)]
    if parsed.year >= 1000:
        # the label reads back to exactly the span of the value: no precision invented
        back = parse_date(bare)
        assert (back.start, back.end, back.precision) == (
            parsed.start,
            parsed.end,
            parsed.precision,
        )


@SETTINGS
@given(text=VALID_DATES)
def test_labels_never_claim_more_precision_than_the_value(text):
    parsed = parse_date(text)
    label = parsed.label
    if parsed.is_interval:
        a, b = (parse_date(p) for p in parsed.canonical.split("/"))
        _check_single_label(a, a.label)
        _check_single_label(b, b.label)
        assert parsed.start == a.start and parsed.end == b.end
        # A compact label ("12–14 January 2019") only says once what both ends share:
        # the same words as both ends in full, nothing more precise.
        words = re.compile(r"[^\W_]+|[~?]")
        assert set(words.findall(label)) == set(words.findall(f"{a.label} {b.label}"))
    else:
        _check_single_label(parsed, label)
