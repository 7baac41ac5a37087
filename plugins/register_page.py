"""``/register``: the transfers register, one card per deal (the ``deals`` view).

Each card gives what was ordered, delivered (in all and by year) and is outstanding, from
the counted figures only (``schema.COUNTED_ACTIONS`` of confirmed events with an exact
number), and beside them every plan, pledge, running total and uncounted figure, each
linking to its event with the quote that states it.

``?system=``, ``?actor=`` (a supplier or recipient of any step) and ``?country=`` (ISO
3166-1 alpha-2, of a supplier or recipient) narrow the deals; a value that names nothing
is a 404 that says so, never an unfiltered page. A deal shows at most STEPS_SHOWN steps of
each kind and links to the rest in the ``transfers`` table.
"""

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from timeline import filters
from timeline.schema import CODE_LISTS, COUNTED_ACTIONS, SYSTEM_ACTIONS, TRANSFER_ACTIONS
from timeline.site import DATABASE, ROUTES, ensure_readable

STEPS_SHOWN = 20
FILTERS = ("system", "actor", "country")
# Which deals a filter keeps: the deal has a step of that system, or a step whose supplier
# or recipient is that actor or belongs to that country.
MATCHING_STEPS = """
select deal_id, system_id from transfers
where (:system = '' or system_id = :system)
  and (:actor = '' or supplier_id = :actor or recipient_id = :actor)
  and (:country = '' or supplier_country = :country or recipient_country = :country)
"""
DEALS_SQL = f"""
select * from deals where (deal_id, system_id) in ({MATCHING_STEPS})
order by sort_key, deal_id, system
"""
STEPS_SQL = f"""
select * from (
  select t.*, row_number() over (partition by t.deal_id, t.system_id, t.action
                                 order by t.sort_key, t.event_id) as n,
         count(*) over (partition by t.deal_id, t.system_id, t.action) as of_kind
  from transfers t where (t.deal_id, t.system_id) in ({MATCHING_STEPS}))
where n <= :shown
order by deal_id, system_id, sort_key, event_id
"""
# What each filter must name, and how the page says what it is.
KNOWN = {
    "system": "select name from systems where id = :value",
    "actor": "select name from actors where id = :value",
}


def counting_reason(step: dict) -> str | None:
    """Why a figure is left out of the totals (None: it is counted)."""
    if step["counted"]:
        return None
    if step["action"] not in COUNTED_ACTIONS:
        return f"a {step['action'].replace('-', ' ')}, listed apart"
    if step["status"] != "confirmed":
        return f"a claim ({step['status']})"
    if step["quantity"] is None:
        return "no number stated"
    return "not an exact number"  # the figure's own words say how: "about", "up to", …


class NamesNothing(Exception):
    """A filter whose value names no system, actor or country (404), or a name the page
    does not take (400)."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.status = status


async def _described_filters(db, args) -> dict[str, str]:
    """The page's filters with the name of what each names; NamesNothing for one that
    names nothing, so a mistyped filter never shows the whole register as if it matched."""
    named = {}
    for name in FILTERS:
        value = args.get(name, "")
        if not value:
            continue
        if name == "country":
            codes = CODE_LISTS["country"]
            label = codes.name(value) if codes.has(value) else None
        else:
            rows = (await db.execute(KNOWN[name], {"value": value})).rows
            label = rows[0][0] if rows else None
        if label is None:
            raise NamesNothing(f"The register has no {name} {value!r}.")
        named[name] = label
    return named


async def register(datasette, request):
    await ensure_readable(datasette, request)
    db = datasette.get_database(DATABASE)
    args = {name: request.args.get(name, "") for name in FILTERS}
    unknown = filters.unknown(request.args, FILTERS)
    try:
        if unknown:  # a deal list that looked narrowed but was not
            raise NamesNothing(filters.said(unknown), status=400)
        named = await _described_filters(db, args)
    except NamesNothing as missing:
        context = {"missing": str(missing), "deals": [], "filters": {}}
        html = await datasette.render_template("register.html", context, request=request)
        return Response.html(html, status=missing.status)
    deals = [dict(r) for r in (await db.execute(DEALS_SQL, args)).rows]
    steps = [dict(r) for r in (await db.execute(STEPS_SQL, args | {"shown": STEPS_SHOWN})).rows]
    by_deal: dict[tuple[str, str], list[dict]] = {}
    for step in steps:
        step["url"] = datasette.urls.row(DATABASE, "events", tilde_encode(step["event_id"]))
        step["left_out"] = counting_reason(step)
        by_deal.setdefault((step["deal_id"], step["system_id"]), []).append(step)
    transfers = datasette.urls.table(DATABASE, "transfers")
    for deal in deals:
        deal["steps"] = by_deal.get((deal["deal_id"], deal["system_id"]), [])
        deal["more"] = {
            s["action"]: s["of_kind"] for s in deal["steps"] if s["of_kind"] > STEPS_SHOWN
        }
        deal["all_url"] = f"{transfers}?{urlencode({'deal_id': deal['deal_id']})}"
        deal["system_url"] = datasette.urls.row(
            DATABASE, "systems", tilde_encode(deal["system_id"])
        )
    context = {
        "deals": deals,
        "filters": {name: (args[name], label) for name, label in named.items()},
        "steps_shown": STEPS_SHOWN,
        "transfer_actions": {a: SYSTEM_ACTIONS[a] for a in TRANSFER_ACTIONS},
        "counted_actions": COUNTED_ACTIONS,
        "totals_url": datasette.urls.table(DATABASE, "transfer_totals"),
        "transfers_url": transfers,
    }
    html = await datasette.render_template("register.html", context, request=request)
    return Response.html(html)


def register_url(datasette, **filters: str) -> str:
    """The register page's address, narrowed by ``filters`` (system, actor, country)."""
    query = urlencode({k: v for k, v in filters.items() if v})
    return datasette.urls.path(ROUTES["register"]) + (f"?{query}" if query else "")


@hookimpl
def register_routes():
    return [(f"^{ROUTES['register']}$", register)]


@hookimpl
def extra_template_vars(datasette):
    return {"register_url": lambda **filters: register_url(datasette, **filters)}
