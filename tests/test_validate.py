"""One test per kind of problem: each asserts the exact position and message."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from timeline import schema
from timeline.cli import app
from timeline.validate import MAX_PER_KIND, validate_file

SMALL_TEXT = (Path(__file__).parent / "data" / "small.yaml").read_text(encoding="utf-8")
TODAY = dt.date(2026, 11, 21)


def line_of(text: str, marker: str) -> int:
    """1-based line of the only occurrence of ``marker`` in ``text``."""
    assert text.count(marker) == 1, f"marker {marker!r} must occur once"
    return text[: text.index(marker)].count("\n") + 1


def errors_after(write_yaml, old: str, new: str):
    assert SMALL_TEXT.count(old) == 1, f"{old!r} must occur once in small.yaml"
    text = SMALL_TEXT.replace(old, new)
    result = validate_file(write_yaml(text), today=TODAY)
    return text, result.errors


def only_error(write_yaml, old: str, new: str, marker: str):
    text, errors = errors_after(write_yaml, old, new)
    assert len(errors) == 1, "\n".join(map(str, errors))
    assert errors[0].line == line_of(text, marker)
    return errors[0]


def test_small_fixture_is_valid(small_yaml):
    result = validate_file(small_yaml, today=TODAY)
    assert result.ok, result.errors
    assert [e.id for e in result.dataset.events][:2] == ["montreux", "baykar-ukrspecexport-2019"]


def test_unknown_key_suggests_the_right_one(write_yaml):
    text, errors = errors_after(write_yaml, "    summary: The straits", "    sumary: The straits")
    missing, unknown = errors
    assert (unknown.line, unknown.column) == (line_of(text, "sumary"), 5)
    assert (unknown.record, unknown.field) == ("event montreux", "sumary")
    assert unknown.message == "unknown key 'sumary'"
    assert unknown.hint == "did you mean 'summary'?"
    assert missing.message == "missing required field 'summary'"
    assert missing.line == line_of(text, "- id: montreux")


def test_missing_required_field(write_yaml):
    text, errors = errors_after(write_yaml, "    type: treaty\n", "")
    assert [str(e).split(": ", 1)[1] for e in errors] == [
        "event montreux: missing required field 'type'"
    ]
    assert errors[0].line == line_of(text, "- id: montreux") and errors[0].column == 5


def test_unknown_vocabulary_value(write_yaml):
    err = only_error(write_yaml, "type: treaty", "type: treatty", "treatty")
    assert err.message == "unknown value 'treatty'" and err.hint == "did you mean 'treaty'?"
    assert err.column == 11


def test_wrong_type(write_yaml):
    err = only_error(write_yaml, "tags: [straits]", "tags: straits", "tags: straits")
    assert err.message == "expected a list of text values, got str"


def test_duplicate_id_names_the_first(write_yaml):
    text, errors = errors_after(write_yaml, "- id: flight-suspension", "- id: montreux")
    dup = [e for e in errors if "duplicate id" in e.message]
    assert len(dup) == 1
    first_line = text.index("- id: montreux")
    assert dup[0].message == (
        f"duplicate id 'montreux' (first used at line {text[:first_line].count(chr(10)) + 1})"
    )


def test_unknown_actor_reference(write_yaml):
    err = only_error(
        write_yaml, "{actor: russia, role: speaker}", "{actor: rusia, role: speaker}", "rusia"
    )
    assert err.field == "actors[0].actor"
    assert err.message == "unknown actor id 'rusia'" and err.hint == "did you mean 'russia'?"


def test_unknown_source_reference(write_yaml):
    err = only_error(
        write_yaml,
        "      - source: record\n        quote: The convention",
        "      - source: recrod\n        quote: The convention",
        "recrod",
    )
    assert err.message == "unknown source id 'recrod'" and err.hint == "did you mean 'record'?"


def test_unknown_related_event_and_self_reference(write_yaml):
    err = only_error(
        write_yaml, "event: baykar-ukrspecexport-2019, type", "event: nope, type", "nope"
    )
    assert err.message == "unknown event id 'nope'"
    err = only_error(
        write_yaml,
        "event: baykar-ukrspecexport-2019, type",
        "event: flight-suspension, type",
        "event: flight-suspension",
    )
    assert err.message == "an event cannot relate to itself"


def test_bad_date(write_yaml):
    err = only_error(write_yaml, 'date: "2021-04-15"', 'date: "2021-02-30"', "2021-02-30")
    assert err.field == "date"
    assert err.message == "bad date: 2021-02-30 is not a real date (day is out of range for month)"


def test_reversed_interval(write_yaml):
    err = only_error(write_yaml, 'date: "2021-04-15"', 'date: "2021-04-15/2021-03"', "2021-04-15/")
    assert "ends before it starts" in err.message


def test_future_date_for_confirmed_event(write_yaml):
    err = only_error(write_yaml, 'date: "2021-04-15"', 'date: "2027-01-05"', "2027-01-05")
    assert err.message == "2027-01-05 is in the future but the event is confirmed"


def test_bad_coordinates(write_yaml):
    err = only_error(write_yaml, "latitude: 46.43", "latitude: 146.43", "146.43")
    assert err.field == "location.latitude"
    assert err.message == "latitude 146.43 is outside -90..90"
    err = only_error(write_yaml, ", longitude: 6.91}", "}", "name: Montreux")
    assert err.message == "latitude and longitude go together"


def test_empty_citations(write_yaml):
    text, errors = errors_after(
        write_yaml,
        "    citations:\n      - source: record\n        quote: The convention was signed in 1936.",
        "    citations: []",
    )
    assert [e.message for e in errors] == ["no citations"]
    assert errors[0].line == line_of(text, "citations: []")


def test_event_without_citations(write_yaml):
    citations = "    citations:\n      - source: record\n        quote: The convention"
    _, errors = errors_after(write_yaml, citations + " was signed in 1936.\n", "")
    assert [e.message for e in errors] == ["missing required field 'citations'"]


def test_duplicate_event_same_date_and_title(write_yaml):
    _, errors = errors_after(
        write_yaml, "title: Russia suspends flights to Turkey", "title: Montreux Convention SIGNED"
    )
    assert [e.message for e in errors] == []  # different dates: not duplicates
    _, errors = errors_after(
        write_yaml,
        'date: "2021-04-15"\n    title: Russia suspends flights to Turkey',
        'date: "1936-07-20"\n    title: Montreux   convention signed',
    )
    duplicate, order = errors  # moved to 1936, it also responds to an event of 2019
    assert duplicate.message.startswith("duplicate event: same date and title as the event at line")
    assert order.message.startswith("responds to baykar-ukrspecexport-2019, which begins later")


def test_a_relation_to_an_earlier_event_names_no_later_one(write_yaml):
    err = only_error(
        write_yaml,
        "    related:\n      - {event: baykar-ukrspecexport-2019, type: responds_to}",
        "    related:\n      - {event: fleet-destroyed-claim, type: follows}",
        "{event: fleet-destroyed-claim",
    )
    assert (err.record, err.field) == ("event flight-suspension", "related[0].event")
    assert err.column == 17  # the id in `- {event: fleet-destroyed-claim, type: follows}`
    # an approximate month covers the whole month: it begins on its first day
    assert err.message == (
        "follows fleet-destroyed-claim, which begins later (2022-02-01; this event ends 2021-04-15)"
    )
    assert "give it {event: flight-suspension, type: follows}" in err.hint


@pytest.mark.parametrize(("date", "accepted"), [("2019-12-31", True), ("2020-01-01", False)])
def test_an_event_may_follow_one_that_begins_before_its_last_day(write_yaml, date, accepted):
    """A year runs to its last day: an event of 2019 may follow one of 31 December 2019."""
    text = SMALL_TEXT.replace('date: "2021-04-15"', f'date: "{date}"').replace(
        "Cooperation on unmanned aircraft.\n",
        "Cooperation on unmanned aircraft.\n"
        "    related:\n      - {event: flight-suspension, type: follows}\n",
    )
    errors = validate_file(write_yaml(text), today=TODAY).errors
    # (flight-suspension responds to the 2019 event, which may end after it: no error either)
    assert [e.message.split(",")[0] for e in errors] == ([] if accepted else
                                                         ["follows flight-suspension"])  # fmt: skip


def test_claim_needs_a_claimant(write_yaml):
    err = only_error(
        write_yaml,
        "{actor: analyst, role: claimant}",
        "{actor: analyst, role: target}",
        "status: refuted",
    )
    assert err.message == "a refuted event must name who makes the claim"


def test_contradicting_citation_needs_a_note(write_yaml):
    err = only_error(
        write_yaml,
        "        note: Later combat footage shows the drones in use.\n",
        "",
        "stance: contradicts",
    )
    assert err.message == "a contradicting citation needs a note"


def test_bad_country_code_suggests_alpha2(write_yaml):
    err = only_error(write_yaml, "country: GR", "country: Greece", "Greece")
    assert err.message == "'Greece' is not an ISO 3166-1 alpha-2 country code"
    assert err.hint == "did you mean 'GR'?"


def test_bad_slug_and_wikidata(write_yaml):
    err = only_error(write_yaml, "- id: montreux", "- id: Montreux Treaty", "Montreux Treaty")
    assert "does not match" in err.message and "lower-case words" in err.hint
    err = only_error(write_yaml, "wikidata: Q12345", "wikidata: X12345", "X12345")
    assert err.hint == "a Wikidata id looks like Q42"


def test_duplicate_list_value(write_yaml):
    err = only_error(write_yaml, "countries: [TR, UA]", "countries: [TR, UA, TR]", "[TR, UA, TR]")
    assert err.message == "'TR' is listed twice"


def test_unknown_top_level_section(write_yaml):
    text = SMALL_TEXT + "evnets: []\n"
    errors = validate_file(write_yaml(text), today=TODAY).errors
    assert [(e.line, e.message, e.hint) for e in errors] == [
        (line_of(text, "evnets"), "unknown section 'evnets'", "did you mean 'events'?")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "the file must be a mapping with sections sources, actors, events"),
        ("sources: []\nactors: []\n", "missing top-level section 'events'"),
        ("sources: {}\nactors: []\nevents: []\n", "'sources' must be a list of mappings"),
        ("sources: []\nactors: [plain]\nevents: []\n", "expected a mapping with keys"),
    ],
)
def test_wrong_shapes(write_yaml, text, message):
    errors = validate_file(write_yaml(text), today=TODAY).errors
    assert len(errors) == 1 and errors[0].message.startswith(message)


def test_ten_mistakes_give_ten_precise_errors():
    """The acceptance file: every mistake reported, each on its own line, in file order."""
    path = Path(__file__).parent / "data" / "ten_mistakes.yaml"
    errors = validate_file(path, today=TODAY).errors
    rendered = [str(e).removeprefix(f"{path}:") for e in errors]
    assert rendered == [
        "6:11: source news: kind: unknown value 'newz' (hint: did you mean 'news'?)",
        "12:14: actor baykar: country: 'TUR' is not an ISO 3166-1 alpha-2 country code"
        " (hint: did you mean 'TR'?)",
        "15:11: event first: date: bad date: 2022-02-30 is not a real date"
        " (day is out of range for month)",
        "23:5: event second: missing required field 'title'",
        "25:5: event second: titel: unknown key 'titel' (hint: did you mean 'title'?)",
        "27:11: event second: type: unknown value 'agreemnt' (hint: did you mean 'agreement'?)",
        "30:17: event second: actors[0].actor: unknown actor id 'baykr'"
        " (hint: did you mean 'baykar'?)",
        "32:17: event second: citations[0].source: unknown source id 'newz'"
        " (hint: did you mean 'news'?)",
        "34:9: event first: id: duplicate id 'first' (first used at line 14)"
        " (hint: give this event its own id)",
        "39:13: event first: status: a disputed event must name who makes the claim"
        " (hint: add an actor with role: claimant)",
        "40:38: event first: location.latitude: latitude 95.0 is outside -90..90",
        "41:16: event first: citations: no citations"
        " (hint: every event cites at least one source with a quote)",
    ]


def test_warnings_for_weak_spots(write_yaml):
    text = SMALL_TEXT.replace("    country: GR\n", "").replace(
        "summary: Scheduled flights stop, officially for health reasons.",
        "summary: Russia suspended all flights.",
    )
    longer = "Russia suspended all flights to Turkey today, officially."
    text = text.replace("quote: Russia suspended all flights.", f"quote: {longer}")
    text = text.replace("summary: Russia suspended all flights.", f"summary: {longer}")
    result = validate_file(write_yaml(text), today=TODAY)
    assert result.ok
    messages = {(w.record, w.message) for w in result.warnings}
    assert ("event flight-suspension", "summary repeats a quote word for word") in messages
    assert ("event montreux", "backed by a single source") in messages
    assert ("actor analyst", "actor has no country") in messages


def test_a_place_name_at_two_points_is_warned_at_each_of_its_events(write_yaml):
    """The map and the place filter take a place as its name and point: two points of one
    name are two places of that name, each with some of its events."""
    montreux = "location: {name: Montreux, latitude: 46.43, longitude: 6.91}"
    assert SMALL_TEXT.count(montreux) == 1
    other = SMALL_TEXT.replace(
        "  - id: flight-suspension\n",
        "  - id: flight-suspension\n"
        "    location: {name: Montreux, latitude: 46.44, longitude: 6.91}\n",
    )
    result = CliRunner().invoke(app, ["validate", str(write_yaml(other))])
    assert result.exit_code == 0
    warned = [line for line in result.output.splitlines() if "another point" in line]
    assert [line.split(": ")[1] for line in warned] == ["event montreux", "event flight-suspension"]
    assert all(": location: warning: another event gives this place name another point (hint:"
               in line for line in warned)  # fmt: skip
    lines = other.splitlines()
    for line in warned:  # at the location's value
        row, column = map(int, line.split(":")[1:3])
        assert lines[row - 1][column - 1 :].startswith("{name: Montreux")
    same = other.replace("latitude: 46.44", "latitude: 46.43")
    again = CliRunner().invoke(app, ["validate", str(write_yaml(same))])
    assert again.exit_code == 0 and "another point" not in again.output


# -- bounded reports ---------------------------------------------------------------------------
# The files of benchmarks/bench_validate_abuse.py, small: the benchmark times them full size.
sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from bench_validate_abuse import follows_loops, misspelt_keys, tags_twice  # noqa: E402


@pytest.mark.parametrize(
    ("make", "scale", "kind", "count"),
    [
        (tags_twice, 0.01, "is listed twice", 420),
        (misspelt_keys, 0.02, "unknown key", 400),
        (follows_loops, 0.02, "'follows' relations form a loop", 179),
    ],
)
def test_a_mistake_repeated_is_listed_20_times_then_counted(tmp_path, make, scale, kind, count):
    path = tmp_path / "events.yaml"
    text = make(scale)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    listed = [line for line in lines if kind in line and "more error(s) like it" not in line]
    (summary,) = [line for line in lines if kind in line and "more error(s) like it" in line]
    assert len(listed) == MAX_PER_KIND
    assert f"; and {count - MAX_PER_KIND - 1:,} more error(s) like it" in summary
    assert f"only the first {MAX_PER_KIND} errors of each kind are listed" in summary
    assert lines[-1] == f"{count} error(s); nothing was written."
    for line in [*listed, summary]:  # each still says where: FILE:LINE:COL, a real position
        where = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): ", line)
        assert where and int(where[1]) <= text.count("\n")
    assert len(result.output) < 12_000  # a loop is shown by its ends and its length
    assert all(len(line) < 400 for line in lines)


def test_a_long_loop_is_shown_by_its_ends_and_length(write_yaml):
    text = follows_loops(0.002)  # 18 events, each closing a loop through those before it
    errors = validate_file(write_yaml(text), today=TODAY).errors
    (longest,) = [e for e in errors if "a loop of 18 event(s)" in e.message]
    assert longest.message.endswith(
        "a loop of 18 event(s): event-0 → event-1 → event-2 → … 13 more … → event-16 → "
        "event-17 → event-0"
    )
    # closed by the last event's relation, on the file's last line
    assert (longest.line, longest.field) == (text.count("\n"), "related[0].event")


@pytest.mark.parametrize("name", sorted(schema.CODE_LISTS))
def test_a_code_list_knows_its_codes_as_written_and_nothing_else(name):
    """Every code of the list, in its case; not in the other case, not a name, not empty."""
    import pycountry

    code_list = schema.CODE_LISTS[name]
    codes = code_list.codes()
    assert codes and all(code_list.has(code) for code in codes)
    database = getattr(pycountry, code_list.database)
    for code in codes:
        recased = code.lower() if code_list.upper else code.upper()
        assert not code_list.has(recased)
        assert database.get(**{code_list.attribute: recased}) is not None  # pycountry: any case
    assert not any(code_list.has(text) for text in ("", "Turkey", "XX1", " TR"))
