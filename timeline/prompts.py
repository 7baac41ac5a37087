"""Fill in a new event for ``timeline add``: prompts for what is missing, and defaults.

Prompts offer the ids and vocabularies the file already knows, so a curator
picks instead of remembering. Without a terminal nothing is asked: whatever is
still missing is reported by the validator, with its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from . import schema
from .edit import Loaded, id_base, suggest_id

if TYPE_CHECKING:
    from .catalog import Catalog


def _ask(label: str, choices: list[str] | None = None, default: str | None = None) -> str:
    if choices:
        typer.echo(f"{label} — one of: {', '.join(choices)}")
    while True:
        answer = typer.prompt(label, default=default, show_default=default is not None).strip()
        if not choices or answer in choices:
            return answer
        typer.echo(f"{answer!r} is not one of the choices.")


def _ask_many(label: str, choices: list[str] | None = None) -> list[str]:
    """Repeated prompts; an empty answer ends the list."""
    if choices:
        typer.echo(f"{label} — known: {', '.join(choices)}")
    answers = []
    while answer := typer.prompt(f"{label} (empty to finish)", default="", show_default=False):
        answers.append(answer.strip())
    return answers


def _prompt_missing(event: dict, ids: dict[str, list[str]]) -> None:
    for key, label in (("date", "Date (2021, 2021-04, 2021-04-15, 2021-04~)"),
                       ("title", "Title"), ("summary", "Summary, in our own words")):  # fmt: skip
        if not event.get(key):
            event[key] = _ask(label)
    if not event.get("type"):
        event["type"] = _ask("Type", list(schema.EVENT_TYPES))
    if not event["actors"]:
        typer.echo(f"Roles: {', '.join(schema.ROLES)}")
        pairs = _ask_many("Actor as ID:ROLE", ids["actors"])
        event["actors"] = [{"actor": a, "role": r} for a, _, r in (p.partition(":") for p in pairs)]
    if not event["citations"]:
        typer.echo(f"Source id — known: {', '.join(ids['sources'])}")
        while source := typer.prompt("Source id (empty to finish)", default="", show_default=False):
            quote = _ask(f"Verbatim quote from {source.strip()}")
            event["citations"].append({"source": source.strip(), "quote": quote})
    if not event["tags"]:
        event["tags"] = _ask_many("Tag")


@dataclass(frozen=True)
class Known:
    """What the file holds that a new event refers to: ids by section, actors' countries,
    the points its events give each place name."""

    ids: dict[str, list[str]]
    countries: dict[str, str]
    points: dict[str, list[tuple[float, float]]]

    @classmethod
    def of(cls, loaded: Loaded) -> Known:
        """From the file as loaded, not validated: ``add`` validates once, the whole file
        with the new event in it."""
        return cls(loaded.ids, loaded.countries, loaded.points)

    @classmethod
    def from_catalog(cls, catalog: Catalog, event: dict, *, prompt: bool) -> Known:
        """From the database built from the file (which validated): what the prompts offer
        and the new id may clash with, or, with nothing to ask (``prompt`` False), only what
        ``event`` needs: the events' ids its suggested id could take, its actors' countries.
        """
        place = (event.get("location") or {}).get("name")
        points = catalog.points([place]) if isinstance(place, str) else {}
        if prompt:
            return cls(catalog.ids(), catalog.countries(), points)
        taken = []
        if not event.get("id") and event.get("date") and event.get("title"):
            taken = catalog.ids_starting("events", id_base(event["date"], event["title"]))
        actors = [a.get("actor") for a in event["actors"] if isinstance(a.get("actor"), str)]
        return cls({"events": taken}, catalog.countries(actors), points)


class PlaceUnsettled(ValueError):
    """A new event's place is named without its point, and the record gives that name
    more than one: which is meant cannot be told."""


def complete_interactively(known: Known, event: dict, *, prompt: bool) -> dict:
    """The event with prompts answered (when ``prompt``), id suggested and defaults filled."""
    ids = known.ids
    if prompt:
        _prompt_missing(event, ids)
    if not event.get("id") and event.get("date") and event.get("title"):
        suggestion = suggest_id(event["date"], event["title"], set(ids["events"]))
        event["id"] = _ask("Event id", default=suggestion) if prompt else suggestion
    if not event["countries"]:
        country_of = known.countries
        event["countries"] = sorted(
            {country_of[e["actor"]] for e in event["actors"] if country_of.get(e["actor"])}
        )
    _place_point(event.get("location"), known.points)
    return {k: v for k, v in event.items() if v not in (None, [], "")}


def _place_point(place: dict | None, points: dict[str, list[tuple[float, float]]]) -> None:
    """A place named without its point gets the one the record's events give that name (the
    map and the place filter take a place as its name and point); PlaceUnsettled when they
    give it several."""
    if not place or place.get("latitude") is not None or place.get("longitude") is not None:
        return
    known = points.get(place.get("name"), [])
    if len(known) > 1:
        where = "; ".join(f"{lat}, {lon}" for lat, lon in known)
        raise PlaceUnsettled(
            f"--location {place['name']!r}: the record gives this place"
            f" {len(known)} points ({where}): give --lat and --lon"
        )
    if known:
        place["latitude"], place["longitude"] = known[0]
