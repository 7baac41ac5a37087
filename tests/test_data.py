"""Quality gates of the curated dataset (the real events.yaml)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from conftest import ROOT, SEEDS, skip_or_fail
from timeline.cli import app
from timeline.dates import parse_date
from timeline.validate import WARNINGS, validate_file

EVENTS = ROOT / "events.yaml"
RESULT = validate_file(EVENTS)
DATA = RESULT.dataset

# Where the article body starts and ends in each seed: what lies outside is page furniture
# (editorial boxes, newsletter prompts, "latest content" lists, disclaimers), never evidence.
SEED_BODY = {
    "000_872cb85d69515f03.txt": ("*With Kyiv’s refusal", "Note to readers"),
    "001_ce751a3b17e2352e.txt": ("Strategic Council Online—Interview", "0 Comments"),
    "002_68071c29f5d99f52.txt": ("Now that Kiev is in possession", None),
    "003_3571c81a0d1c84bb.txt": (None, None),
    "004_71c7eea85881ef11.txt": ("In a recent development", None),
}


def normalise(text: str) -> str:
    """Fold whitespace and typographic quotes only; nothing else is forgiven."""
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
    return " ".join(text.split())


def seed_body(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        skip_or_fail(f"seed article {path} is missing")
    text = path.read_text(encoding="utf-8")
    start, end = SEED_BODY[name]
    if start:
        text = text[text.index(start) :]
    if end:
        text = text[: text.index(end)]
    return normalise(text)


def seed_citations():
    sources = {s.id: s for s in DATA.sources}
    for event in DATA.events:
        for citation in event.citations:
            seed = sources[citation.source].seed
            if seed:
                yield pytest.param(event.id, seed, citation.quote, id=f"{event.id}:{seed[:3]}")


def test_real_file_has_no_errors():
    assert RESULT.ok, "\n".join(map(str, RESULT.errors))


@pytest.mark.parametrize(("event_id", "seed", "quote"), list(seed_citations()))
def test_seed_quotes_are_verbatim_and_from_the_article_body(event_id, seed, quote):
    assert normalise(quote) in seed_body(seed), f"{event_id}: quote not found in {seed}"


def test_every_seed_article_is_a_source_and_is_cited():
    seeds = {s.seed for s in DATA.sources if s.seed}
    assert seeds == set(SEED_BODY)
    cited = {c.source for e in DATA.events for c in e.citations}
    assert {s.id for s in DATA.sources if s.seed} <= cited


def test_every_registered_actor_and_source_is_used():
    used_actors = {a.actor for e in DATA.events for a in e.actors}
    cited = {c.source for e in DATA.events for c in e.citations}
    assert {a.id for a in DATA.actors} - used_actors == set()
    assert {s.id for s in DATA.sources} - cited == set()


# An event id as notes name one: a date (year, month or day) and a slug, on its own.
EVENT_ID_IN_TEXT = re.compile(r"(?<![\w/.-])\d{4}(?:-\d{2}){0,2}-[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def test_every_event_id_that_notes_name_exists():
    """A note pointing at an event that was renamed or never merged misleads the reader."""
    events = {e.id for e in DATA.events}
    records = [*DATA.events, *DATA.sources, *DATA.actors, *DATA.systems]
    named = {(r.id, found) for r in records for found in EVENT_ID_IN_TEXT.findall(r.notes or "")}
    assert sorted((where, found) for where, found in named if found not in events) == []


def test_sources_beyond_the_seeds_have_a_url():
    assert [s.id for s in DATA.sources if not s.seed and not s.url] == []


def test_no_event_lies_in_the_future():
    today = dt.date.today()
    assert [e.id for e in DATA.events if e.date.start > today] == []


def test_claims_name_their_claimant_and_the_evidence_against_them():
    for event in DATA.events:
        if event.status == "confirmed":
            continue
        assert event.claimants, event.id
        if event.status in ("disputed", "refuted"):
            against = [c for c in event.citations if c.stance == "contradicts"]
            assert against and all(c.note for c in against), event.id


# Seed dates written without a day or without a year, and dates a seed gets wrong:
# the event must carry exactly the precision (and value) the evidence supports.
SEED_DATES = {
    "2021-05-doran-tweet-turkish-drones-surround-russia": "2021-05",  # "in May 2021"
    "2021-09-ukraine-plans-24-more-tb2": "2021-09",  # "in September last year"
    "2020-10-ai-35-engines-for-gezgin": "2020-10?",  # "in October 2020", contract unconfirmed
    "2019-08-black-sea-shield-joint-company": "2019-08",
    "2022-02-03-high-tech-framework-agreement-tb2-coproduction": "2022-02-03",  # "February 3"
    "2020-02-03-military-financial-cooperation-agreement": "2020-02-03",  # seed implies 2021
    "2021-04-10-zelensky-erdogan-istanbul-meeting": "2021-04-10",  # seed says April 15
    "2021-04-15-russian-flight-suspension-takes-effect": "2021-04-15",  # "on April 15"
    "2021-04-12-russia-announces-flight-suspension": "2021-04-12",
    "2014-03-18-crimea-annexed-by-russia": "2014-03-18",  # seed: "in 2014"
}


@pytest.mark.parametrize(("event_id", "expected"), SEED_DATES.items())
def test_seed_dates_have_the_precision_of_their_evidence(event_id, expected):
    event = next(e for e in DATA.events if e.id == event_id)
    assert event.date.canonical == expected
    assert event.date.precision == parse_date(expected).precision


def test_wrong_seed_dates_are_kept_as_contradicting_citations():
    meeting = next(e for e in DATA.events if e.id == "2021-04-10-zelensky-erdogan-istanbul-meeting")
    against = [c for c in meeting.citations if c.stance == "contradicts"]
    assert any("April 15" in c.quote for c in against)
    assert all(c.note for c in against)


def test_summaries_are_in_our_own_words():
    """No summary shares a run of eight words with a seed article."""
    seeds = " ".join(seed_body(name) for name in SEED_BODY).lower()
    for event in DATA.events:
        words = re.findall(r"\S+", normalise(event.summary).lower())
        for i in range(len(words) - 7):
            assert " ".join(words[i : i + 8]) not in seeds, event.id


def test_stats_cover_every_event(real_db):
    stats = json.loads(
        CliRunner().invoke(app, ["stats", "--db", str(real_db), "--format", "json"]).stdout
    )
    assert sum(r["events"] for r in stats["Events per year"]) == len(DATA.events)
    assert sum(r["events"] for r in stats["Events per type"]) == len(DATA.events)
    assert min(r["year"] for r in stats["Events per year"]) == 1936
    assert len(DATA.events) >= 60


# -- the record analysts need: systems, transfers, coverage -------------------------------------

PUBLIC_TEXT_LEAKS = re.compile(r"seed\s*0\d\d|\b\d{3}_[0-9a-f]{16}\b|\.txt\b|shared/seeds", re.I)


def public_texts():
    for event in DATA.events:
        yield event.id, "title", event.title
        yield event.id, "summary", event.summary
        yield event.id, "notes", event.notes or ""
        for c in event.citations:
            yield event.id, f"citation note ({c.source})", c.note or ""
        for x in event.systems:
            yield event.id, f"system note ({x.system})", x.note or ""
    for record in (*DATA.sources, *DATA.actors, *DATA.systems):
        yield record.id, "notes", record.notes or ""


def test_public_text_names_no_internal_files():
    leaks = [(i, f, t[:80]) for i, f, t in public_texts() if PUBLIC_TEXT_LEAKS.search(t)]
    assert leaks == []


def test_every_quote_in_another_language_has_our_translation():
    language = {s.id: s.language for s in DATA.sources}
    missing = [(e.id, c.source) for e in DATA.events for c in e.citations
               if language[c.source] != "en" and not c.translation]  # fmt: skip
    assert missing == []


def test_every_number_comes_with_a_citation_of_its_source():
    for event in DATA.events:
        cited = {c.source for c in event.citations}
        for entry in event.systems:
            if entry.quantity is not None:
                assert entry.source in cited, (event.id, entry.system)
            if entry.value is not None:
                assert entry.value_source in cited and entry.currency, (event.id, entry.system)


def test_every_system_is_used_and_every_referred_system_exists():
    used = {x.system for e in DATA.events for x in e.systems}
    assert used == {s.id for s in DATA.systems}


def test_month_and_year_dates_say_why_no_day_is_given():
    coarse = [e.id for e in DATA.events if e.date.precision != "day" and not e.notes]
    assert coarse == []


def test_coverage_reaches_today():
    years = [e.date.year for e in DATA.events]
    assert len(DATA.events) >= 220
    assert sum(2023 <= y <= 2025 for y in years) >= 100


def test_transfer_totals_equal_the_sum_of_their_events(real_db):
    import sqlite3

    conn = sqlite3.connect(real_db)
    try:
        totals = conn.execute(
            "select supplier_country, recipient_country, system_id, ordered, delivered "
            "from transfer_totals"
        ).fetchall()
        for supplier, recipient, system, ordered, delivered in totals:
            for action, total in (("order", ordered), ("delivery", delivered)):
                (expected,) = conn.execute(
                    """select sum(es.quantity) from event_systems es
                    join events e on e.id = es.event_id
                    left join actors s on s.id = es.supplier_id
                    left join actors r on r.id = es.recipient_id
                    where es.action = ? and es.system_id = ? and e.status = 'confirmed'
                      and coalesce(es.quantity_qualifier, 'exact') = 'exact'
                      and s.country is ? and r.country is ?""",
                    (action, system, supplier, recipient),
                ).fetchone()
                assert total == expected, (supplier, recipient, system, action)
        tb2 = conn.execute(
            "select ordered, orders, deliveries from transfer_totals where supplier_country = 'TR'"
            " and recipient_country = 'UA' and system_id = 'bayraktar-tb2'"
        ).fetchone()
        assert tb2 and tb2[0] >= 6 and "12 January 2019" in tb2[1] and tb2[2]
    finally:
        conn.close()


NUMBER_WORDS = dict(
    enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
)
NUMBER_WORDS |= {30: "thirty", 40: "forty", 50: "fifty", 100: "hundred"}


SINGULAR_NOUNS = ("drone", "aircraft", "ship", "corvette", "vehicle", "engine", "launcher")


def states_number(text: str, number: int, names: tuple[str, ...]) -> bool:
    """Whether ``text`` gives ``number`` in digits (1,000 / 1 000 / 1000) or in words; one
    is also stated by a singular article before the system's name ("a Bayraktar TB2",
    "the Bayraktar TB2 Vanagas")."""
    digits = re.sub(r"(?<=\d)[,\u00a0\u202f ](?=\d{3}\b)", "", text)
    if re.search(rf"(?<![\d.]){number}(?![\d.]\d)", digits):
        return True
    word = NUMBER_WORDS.get(number)
    if word and re.search(rf"\b{word}\b", text, re.I):
        return True
    # "the drone arrived", "a Bayraktar TB2": a singular noun for the thing or its name
    name = "|".join(re.escape(n) for n in (*names, *SINGULAR_NOUNS))
    return number == 1 and bool(
        re.search(rf"\b(a|an|the)\s+(\S+\s+){{0,4}}?({name})(?![\w-])", text, re.I)
    )


def test_every_systems_quantity_is_stated_in_its_sources_quote():
    """A number in the register is the number a cited quote (or our translation of it)
    states: the systems entry's source must say it."""
    names = {s.id: (s.name, *s.aliases) for s in DATA.systems}
    unstated = []
    for event in DATA.events:
        for entry in event.systems:
            if entry.quantity is None:
                continue
            texts = [f"{c.quote} {c.translation or ''}" for c in event.citations
                     if c.source == entry.source]  # fmt: skip
            if not any(states_number(t, entry.quantity, names[entry.system]) for t in texts):
                unstated.append((event.id, entry.system, entry.quantity, entry.source))
    assert unstated == []


def test_no_summary_copies_a_run_of_a_quote():
    """A summary is in our words: it shares no run of 60 characters with any of its quotes."""
    copied = []
    for event in DATA.events:
        summary = normalise(event.summary).lower()
        for c in event.citations:
            quote = normalise(c.quote).lower()
            if any(quote[i : i + 60] in summary for i in range(len(quote) - 59)):
                copied.append((event.id, c.source))
    assert copied == []


def test_the_register_lists_every_deal_step_and_counts_only_orders_and_deliveries(real_db):
    import sqlite3

    conn = sqlite3.connect(real_db)
    try:
        steps = dict(conn.execute("select action, count(*) from transfers group by action"))
        counted = {
            a for (a,) in conn.execute("select distinct action from transfers where counted")
        }
    finally:
        conn.close()
    assert counted <= {"order", "delivery"}
    assert {"plan", "pledge", "running-total"} <= set(steps)


def test_a_place_name_stands_for_one_point():
    """The map and the timeline's place filter take a place as its name and point: the same
    name at two points showed two places called Ankara, each with some of its events."""
    assert [str(w) for w in RESULT.warnings if w.message == WARNINGS["other point"][1]] == []
