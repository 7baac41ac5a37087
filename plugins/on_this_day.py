"""The ``on_this_day`` query's page when it finds nothing: which day it looked at, how to
type another, and the next days of the year that do have events.

The query reads an empty ``month_day`` as today (UTC); so does this page. The next days
are looked up only when the template asks, that is when the day has no events.
"""

from datetime import UTC, datetime
from urllib.parse import urlencode

from datasette import hookimpl

from timeline.site import DATABASE

QUERY = "on_this_day"
NEXT_DAYS = 5
# The next days of the year with events dated to the day, wrapping round after 12-31: each
# step is one seek in the day-of-year index (idx_events_month_day), never a scan.
NEXT_DAYS_SQL = """
with recursive days(month_day) as not materialized (
  select substr(date_start, 6, 5) from events indexed by idx_events_month_day
  where precision = 'day'
),
next(month_day, k) as (
  select coalesce((select min(month_day) from days where month_day > :day),
                  (select min(month_day) from days)), 1
  union all
  select coalesce((select min(month_day) from days where month_day > next.month_day),
                  (select min(month_day) from days)), k + 1
  from next where month_day is not null and k < :limit
)
select month_day, (select count(*) from days where days.month_day = next.month_day) as n
from next where month_day is not null and month_day != :day
group by month_day order by min(k)
"""


def day_label(month_day: str) -> str | None:
    """'07-20' -> '20 July'; None when it is not a day of the year (02-29 is one)."""
    try:
        day = datetime.strptime(f"2000-{month_day}", "%Y-%m-%d")
    except ValueError:
        return None
    return f"{day.day} {day:%B}"


async def next_days(datasette, month_day: str) -> list[dict]:
    db = datasette.get_database(DATABASE)
    rows = await db.execute(NEXT_DAYS_SQL, {"day": month_day, "limit": NEXT_DAYS})
    path = datasette.urls.table(DATABASE, QUERY)
    return [
        {"label": day_label(r["month_day"]), "n": r["n"],
         "url": f"{path}?{urlencode({'month_day': r['month_day']})}"}
        for r in rows.rows
    ]  # fmt: skip


@hookimpl
def extra_template_vars(database, request, datasette):
    if request is None or database != DATABASE or request.url_vars.get("table") != QUERY:
        return None
    typed = (request.args.get("month_day") or "").strip()
    day = typed or datetime.now(UTC).strftime("%m-%d")

    async def days_with_events() -> list[dict]:
        return await next_days(datasette, day)

    return {
        "on_this_day": {"typed": typed, "day": day, "label": day_label(day),
                        "next_days": days_with_events}
    }  # fmt: skip
