"""The views: SQL over the built tables that the site and the exports read as tables."""

from __future__ import annotations

from collections.abc import Iterable

from . import schema
from .figures import quantity_sql

VIEWS = {
    # One row per event and actor, with roles: "what did X do, when?"
    "actor_timeline": """
        select a.id as actor_id, a.name as actor, ea.role, e.id as event_id, e.date,
               e.date_label, e.title, e.type, e.status, e.sort_key
        from event_actors ea
        join actors a on a.id = ea.actor_id
        join events e on e.id = ea.event_id
        order by a.name, e.sort_key""",
    # Every claim that is not confirmed, with who makes it and the evidence.
    "claims": """
        select e.id as event_id, e.date_label, e.title, e.status,
               (select group_concat(a.name, '; ') from event_actors ea
                  join actors a on a.id = ea.actor_id
                 where ea.event_id = e.id and ea.role = 'claimant') as claimants,
               c.stance, c.quote, c.note, s.title as source, s.url as source_url, e.sort_key
        from events e
        join citations c on c.event_id = e.id
        join sources s on s.id = c.source_id
        where e.status != 'confirmed'
        order by e.sort_key, c.position""",
    # Citations with their source, for reading the evidence of an event.
    "evidence": """
        select c.event_id, e.title as event, e.date_label, c.position, c.stance, c.quote,
               c.note, s.id as source_id, s.title as source, s.publisher, s.url,
               s.published_label
        from citations c
        join events e on e.id = c.event_id
        join sources s on s.id = c.source_id
        order by e.sort_key, c.position""",
    "events_per_year_type": """
        select year, type, count(*) as events from events group by year, type
        order by year, type""",
    # The transfers register: every step of a deal (plan, pledge, order, delivery, running
    # total), supplier → recipient, with the quote that states its figure. ``counted`` is 1
    # for the figures the totals add (schema.COUNTED_ACTIONS, a confirmed event, an exact
    # number); the rest are listed beside the totals, never summed into them.
    "transfers": """
        select sup.country as supplier_country, es.supplier_id, sup.name as supplier,
               rec.country as recipient_country, es.recipient_id, rec.name as recipient,
               es.system_id, sy.name as system, sy.kind as system_kind, es.deal_id, es.action,
               es.deal, es.quantity,
               coalesce(es.quantity_qualifier, 'exact') as quantity_qualifier, es.as_of,
               es.as_of_label,
               case when es.action in ({counted}) and e.status = 'confirmed'
                     and es.quantity is not null
                     and coalesce(es.quantity_qualifier, 'exact') = 'exact'
                    then 1 else 0 end as counted,
               es.value, es.currency, e.id as event_id, e.date, e.date_label, e.precision,
               e.year, e.status, e.title, es.source_id,
               -- the quote that states the number, else the event's first supporting one
               coalesce((select c.quote from citations c where c.event_id = e.id
                            and c.source_id = es.source_id order by c.position limit 1),
                        (select c.quote from citations c where c.event_id = e.id
                            and c.stance = 'supports' order by c.position limit 1)) as quote,
               es.note, e.sort_key
        from event_systems es
        join events e on e.id = es.event_id
        join systems sy on sy.id = es.system_id
        left join actors sup on sup.id = es.supplier_id
        left join actors rec on rec.id = es.recipient_id
        where es.action in ({steps})
        order by sup.country, rec.country, sy.name, e.sort_key, es.position""",
    # Totals per supplier country, recipient country and system, as in an arms-transfers
    # register: ordered and delivered add the counted figures only; every figure, counted
    # or not, is listed by step with its date and, for a claim, its status.
    "transfer_totals": """
        select supplier_country, recipient_country, system_id, system, system_kind,
               {totals_suppliers} as suppliers, {totals_recipients} as recipients,
               sum(case when action = 'order' and counted then quantity end) as ordered,
               sum(case when action = 'delivery' and counted then quantity end) as delivered,
               {figures_order} as orders,
               {figures_delivery} as deliveries,
               {figures_plan} as plans,
               {figures_pledge} as pledges,
               {figures_running_total} as running_totals,
               count(distinct deal_id) as deals,
               count(distinct event_id) as events
        from transfers t
        group by supplier_country, recipient_country, system_id
        order by supplier_country, recipient_country, system""",
    # One row per deal and system: what was ordered, delivered so far (in all and by year)
    # and is outstanding, from the counted figures; plans, pledges, running totals and the
    # figures not counted (claims, approximate numbers) beside them.
    # The steps are read once (t); each per-deal list is one grouped pass over them, not a
    # subquery per deal, so the view costs what its steps do however many deals there are.
    "deals": """
        with t as materialized (select * from transfers),
        {deal_names},
        firsts as (select deal_id, system_id, date_label as first_step from (
            select deal_id, system_id, date_label, row_number() over (
                partition by deal_id, system_id order by sort_key) as n from t) where n = 1),
        years as (select deal_id, system_id, group_concat(year || ': ' || n, '; ')
                         as delivered_by_year from (
            select deal_id, system_id, year, sum(quantity) as n from t
            where action = 'delivery' and counted
            group by deal_id, system_id, year order by deal_id, system_id, year)
          group by deal_id, system_id),
        sums as (
          select deal_id, system_id, system, system_kind,
               sum(case when action = 'order' and counted then quantity end) as ordered,
               sum(case when action = 'delivery' and counted then quantity end) as delivered,
               -- unknown (empty) when any delivery of the deal has no counted number
               case when sum(case when action = 'order' and counted then 1 end) > 0
                     and not max(action = 'delivery' and not counted)
                    then max(sum(case when action = 'order' and counted then quantity end)
                             - coalesce(sum(case when action = 'delivery' and counted
                                            then quantity end), 0), 0) end as outstanding,
               case when sum(case when action = 'delivery' and counted then quantity end)
                         > sum(case when action = 'order' and counted then quantity end)
                    then 'more delivered than ordered' end as conflict,
               {figures_order} as orders,
               {figures_delivery} as deliveries,
               {figures_plan} as plans,
               {figures_pledge} as pledges,
               {figures_running_total} as running_totals,
               {figures_uncounted} as not_counted,
               count(distinct event_id) as events,
               min(sort_key) as sort_key
          from t group by deal_id, system_id)
        select s.deal_id, s.system_id, s.system, s.system_kind,
               suppliers.names as suppliers, recipients.names as recipients,
               supplier_countries.names as supplier_countries,
               recipient_countries.names as recipient_countries,
               f.first_step, s.ordered, s.delivered, y.delivered_by_year, s.outstanding,
               s.conflict, s.orders, s.deliveries, s.plans, s.pledges, s.running_totals,
               s.not_counted, s.events, s.sort_key
        from sums s
        join firsts f using (deal_id, system_id)
        left join years y using (deal_id, system_id)
        left join suppliers using (deal_id, system_id)
        left join recipients using (deal_id, system_id)
        left join supplier_countries using (deal_id, system_id)
        left join recipient_countries using (deal_id, system_id)
        order by s.sort_key, s.deal_id, s.system""",
}


def _figures(action: str | None) -> str:
    """SQL listing every figure of one step as stated: '6 (12 January 2019); up to 50
    (28 June 2022); number not stated (March 2019, reported)'; with None, the order and
    delivery figures the totals leave out."""
    where = f"action = '{action}'" if action else f"action in ({_COUNTED}) and not counted"
    return f"""group_concat(case when {where} then
                   {quantity_sql()}
                   || case when action = 'running-total' and as_of_label is not null
                           then ' over ' || as_of_label else '' end
                   || ' (' || date_label || case when status != 'confirmed'
                   then ', ' || status else '' end || ')' end, '; ')"""


def _distinct(column: str, group: tuple[str, ...]) -> str:
    """SQL joining the distinct values of ``column`` in the current group of the transfers
    view with '; ' (group_concat(distinct …) can only join with commas, which names hold)."""
    match = " and ".join(f"t2.{c} is t.{c}" for c in group)
    return f"""(select group_concat({column}, '; ') from (select distinct t2.{column}
                   from transfers t2 where {match} and t2.{column} is not null))"""


def _deal_names(name: str, column: str) -> str:
    """A CTE joining each deal's distinct values of ``column`` with '; ', in the order
    they first appear (group_concat(distinct …) can only join with commas, which names
    hold)."""
    return f"""{name} as (select deal_id, system_id, group_concat({column}, '; ') as names
          from (select deal_id, system_id, {column}, min(sort_key) as first from t
                where {column} is not null group by deal_id, system_id, {column}
                order by deal_id, system_id, first, {column})
          group by deal_id, system_id)"""


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_COUNTED = _sql_list(schema.COUNTED_ACTIONS)
_FIGURES = {f"figures_{a.replace('-', '_')}": _figures(a) for a in schema.TRANSFER_ACTIONS}
_TOTALS = ("supplier_country", "recipient_country", "system_id")
_FIGURES |= {
    "deal_names": ",\n        ".join(
        _deal_names(name, column)
        for name, column in (
            ("suppliers", "supplier"),
            ("recipients", "recipient"),
            ("supplier_countries", "supplier_country"),
            ("recipient_countries", "recipient_country"),
        )
    ),
    "totals_suppliers": _distinct("supplier", _TOTALS),
    "totals_recipients": _distinct("recipient", _TOTALS),
}
VIEWS = {
    name: sql.format(counted=_COUNTED, steps=_sql_list(schema.TRANSFER_ACTIONS),
                     figures_uncounted=_figures(None), **_FIGURES)
    if name in ("transfers", "transfer_totals", "deals") else sql
    for name, sql in VIEWS.items()
}  # fmt: skip
