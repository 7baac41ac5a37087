"""Every rule about dates lives here.

Curators write dates the way the evidence gives them. We accept:

* the EDTF level 0/1 forms ``2019``, ``2021-04``, ``2021-04-15``, with an
  optional qualifier ``~`` (approximate), ``?`` (uncertain) or ``%`` (both),
  and intervals ``2020-09-27/2020-11-10`` whose ends are any of those;
* human forms such as ``15 April 2021``, ``April 15, 2021`` or ``April 2021``,
  parsed with python-dateutil;
* what YAML itself produces from unquoted values: ``2019`` arrives as an
  ``int`` (a year) and ``2021-04-15`` as a ``datetime.date`` (a day).

The precision is always taken from what was written, never from what a
parser fills in: ``2019`` covers 1 January to 31 December 2019 and is never
stored as 2019-01-01 or as today's month and day.

Example::

    >>> d = parse_date("April 2021")
    >>> d.canonical, d.start.isoformat(), d.end.isoformat(), d.precision
    ('2021-04', '2021-04-01', '2021-04-30', 'month')
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

from dateutil import parser as dateutil_parser

PRECISIONS = ("year", "month", "day")
_RANK = {p: i for i, p in enumerate(PRECISIONS)}

# ASCII digits only: \d would also accept other scripts' digits.
_EDTF = re.compile(r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?(?P<q>[?~%])?")

# The years a record can carry. The upper bound leaves room for the day after
# the last day (calendar feeds end an all-day entry there) and for announced plans.
MIN_YEAR, MAX_YEAR = 1000, 2999

# Human forms, matched whole before dateutil reads them: a month written as a word,
# an optional day, a four-digit year. Numeric day/month orders (05-04-2021: 5 April
# or 4 May?), weekdays and stray words are refused rather than guessed.
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[0-9]{1,2})(?:st|nd|rd|th)?"
_HUMAN = re.compile(
    rf"(?:{_DAY}\s+{_MONTH},?\s+|{_MONTH}\s+{_DAY},?\s+|{_MONTH},?\s+)[0-9]{{4}}",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{1,2}:[0-9]{2}(?::[0-9.]+)?(?:Z|[-+][0-9:]+)?"
)
_NUMERIC_DMY = re.compile(r"[0-9]{1,2}[-./ ][0-9]{1,2}[-./ ][0-9]{2,4}")


class DateError(ValueError):
    """A date value that cannot be accepted; the message says how to fix it."""


@dataclass(frozen=True)
class ParsedDate:
    """A date at the precision its evidence supports.

    ``start`` and ``end`` are the first and last day the value covers.
    """

    canonical: str
    start: dt.date
    end: dt.date
    precision: str
    approximate: bool = False
    uncertain: bool = False

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def month(self) -> int | None:
        return None if self.precision == "year" else self.start.month

    @property
    def is_interval(self) -> bool:
        return "/" in self.canonical

    @property
    def sort_key(self) -> str:
        """Chronological key: start day, then coarser values first, then end day.

        ``2019`` sorts before anything dated inside 2019, so a year-only event
        heads its year instead of pretending to happen on 1 January.
        """
        return f"{self.start.isoformat()}.{_RANK[self.precision]}.{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """Human reading at the stored precision: ``April 2021``, ``c. 2019``."""
        if self.is_interval:
            first, last = (parse_date(end) for end in self.canonical.split("/"))
            return _interval_label(first, last)
        text = _label_for(self.start, self.precision)
        if self.approximate:
            text = f"c. {text}"
        if self.uncertain:
            text = f"{text} (uncertain)"
        return text


def _interval_label(first: ParsedDate, last: ParsedDate) -> str:
    """``12–14 January 2019``, ``January–March 2019``, ``2019–2021``: what the two ends
    share is said once. Ends of different precision or with qualifiers stay whole.

    >>> _interval_label(parse_date("2019-01-12"), parse_date("2019-03-03"))
    '12 January – 3 March 2019'
    """
    plain = not (first.approximate or first.uncertain or last.approximate or last.uncertain)
    a, b = first.start, last.start
    if plain and first.precision == last.precision and a.year == b.year:
        if first.precision == "day" and a.month == b.month:
            return f"{a.day}–{b.day} {calendar.month_name[a.month]} {a.year}"
        if first.precision == "day":
            return f"{a.day} {calendar.month_name[a.month]} – {_label_for(b, 'day')}"
        if first.precision == "month":
            return f"{calendar.month_name[a.month]}–{_label_for(b, 'month')}"
    if plain and first.precision == last.precision == "year":
        return f"{a.year}–{b.year}"
    return f"{first.label} – {last.label}"


def _label_for(day: dt.date, precision: str) -> str:
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{calendar.month_name[day.month]} {day.year}"
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _span(year: int, month: int | None, day: int | None) -> tuple[dt.date, dt.date, str]:
    """First day, last day and precision; raises DateError on impossible values."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateError(f"{year:04d} is outside the years {MIN_YEAR}–{MAX_YEAR} a record can carry")
    try:
        if month is None:
            return dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last), "month"
        single = dt.date(year, month, day)
    except (ValueError, calendar.IllegalMonthError) as exc:
        written = _canonical(year, month, day, "")
        raise DateError(f"{written} is not a real date ({exc})") from None
    return single, single, "day"


def _canonical(year: int, month: int | None, day: int | None, qualifier: str) -> str:
    text = f"{year:04d}"
    if month is not None:
        text += f"-{month:02d}"
    if day is not None:
        text += f"-{day:02d}"
    return text + qualifier


def _parse_edtf(text: str) -> ParsedDate | None:
    match = _EDTF.fullmatch(text)
    if not match:
        return None
    year = int(match["y"])
    month = int(match["m"]) if match["m"] else None
    day = int(match["d"]) if match["d"] else None
    qualifier = match["q"] or ""
    start, end, precision = _span(year, month, day)
    return ParsedDate(
        canonical=_canonical(year, month, day, qualifier),
        start=start,
        end=end,
        precision=precision,
        approximate=qualifier in ("~", "%"),
        uncertain=qualifier in ("?", "%"),
    )


# Two defaults that differ in every part: whatever dateutil copied from the
# default (instead of reading it from the text) differs between the two runs.
_DEFAULT_A = dt.datetime(2000, 1, 1)
_DEFAULT_B = dt.datetime(2004, 2, 2)


def _parse_human(text: str) -> ParsedDate:
    if _NUMERIC_DMY.fullmatch(text):
        raise DateError(
            f"{text!r} is ambiguous: day-month or month-day order cannot be told apart; "
            "write it as ISO 2021-04-05 or with the month in words, 5 April 2021"
        )
    if _TIMESTAMP.fullmatch(text):
        raise DateError(f"{text!r} has a time of day; record the date only")
    if re.search(_MONTH, text, re.IGNORECASE) and not re.search("[0-9]{4}", text):
        raise DateError(f"{text!r} has no four-digit year; a date needs at least a year")
    if not _HUMAN.fullmatch(text):
        raise DateError(
            f"{text!r} is not a date we can read without guessing; write 2021, 2021-04, "
            "2021-04-15, 15 April 2021, April 2021 or an interval 2020-09-27/2020-11-10"
        )
    try:
        a = dateutil_parser.parse(text, default=_DEFAULT_A)
        b = dateutil_parser.parse(text, default=_DEFAULT_B)
    except (ValueError, OverflowError):
        raise DateError(
            f"{text!r} is not a date; write 2021, 2021-04, 2021-04-15, "
            "15 April 2021 or an interval 2020-09-27/2020-11-10"
        ) from None
    if (a.hour, a.minute, a.second) != (0, 0, 0):
        raise DateError(f"{text!r} has a time of day; record the date only")
    month = a.month if a.month == b.month else None
    day = a.day if (a.day == b.day and month is not None) else None
    start, end, precision = _span(a.year, month, day)
    return ParsedDate(_canonical(a.year, month, day, ""), start, end, precision)


def _parse_single(text: str) -> ParsedDate:
    return _parse_edtf(text) or _parse_human(text)


def parse_date(value: object) -> ParsedDate:
    """Parse what a curator wrote (string, YAML int or YAML date) into a ParsedDate.

    Example::

        >>> parse_date(2019).canonical, parse_date("2019").end.isoformat()
        ('2019', '2019-12-31')
        >>> parse_date("2020-09-27/2020-11-10").precision
        'day'
    """
    if isinstance(value, bool):
        raise DateError("a date cannot be true or false; write it as 2021-04-15")
    if isinstance(value, dt.datetime):
        raise DateError("a date cannot carry a time of day; write it as 2021-04-15")
    if isinstance(value, dt.date):
        start, end, precision = _span(value.year, value.month, value.day)
        return ParsedDate(value.isoformat(), start, end, precision)
    if isinstance(value, int):
        # an unquoted year; the loader refuses 0700, 0x7E3, 2_019 and 33:39 before this
        return parse_date(str(value)) if MIN_YEAR <= value <= MAX_YEAR else _bad_year(value)
    if not isinstance(value, str):
        raise DateError(f"expected a date such as 2021-04-15, got {type(value).__name__}")
    # The cache is keyed on the normalised text: every run of whitespace is one space (the
    # forms read \s+ alike), and nothing longer than MAX_DATE_CHARS is kept, so a site's
    # ?from= padded with 40,000 spaces costs one short entry, not 40 KB per request.
    text = " ".join(value.split())
    if len(text) > MAX_DATE_CHARS:
        raise DateError(f"{text[:40]!r}... is {len(text)} characters long: too long to be a date")
    return _parse_text(text)


MAX_DATE_CHARS = 64  # the longest form, two "15 September 2021" ends with qualifiers, is ~40
DATE_CACHE_SIZE = 1 << 14  # more than the distinct dates of 100,000 events; ~10 MB at most


@functools.lru_cache(maxsize=DATE_CACHE_SIZE)
def _parse_text(text: str) -> ParsedDate:
    """A normalised date string, parsed. Cached: validation and the model read every date,
    and many events share one; ParsedDate is immutable (errors are raised, never cached)."""
    if not text:
        raise DateError("the date is empty; write at least a year, e.g. 2019")
    if "/" in text:
        return _parse_interval(text)
    return _parse_single(text)


def _bad_year(value: int) -> ParsedDate:
    raise DateError(f"{str(value)[:20]} is not a four-digit year between {MIN_YEAR} and {MAX_YEAR}")


def _parse_interval(text: str) -> ParsedDate:
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not all(parts):
        raise DateError(f"{text!r}: an interval needs exactly two ends, e.g. 2020-09-27/2020-11-10")
    first, last = (_parse_single(p) for p in parts)
    if last.end < first.start:
        raise DateError(f"{text!r}: the interval ends before it starts; swap the two ends")
    precision = min(first.precision, last.precision, key=_RANK.__getitem__)
    return ParsedDate(
        canonical=f"{first.canonical}/{last.canonical}",
        start=first.start,
        end=last.end,
        precision=precision,
        approximate=first.approximate or last.approximate,
        uncertain=first.uncertain or last.uncertain,
    )


def is_future(parsed: ParsedDate, today: dt.date | None = None) -> bool:
    """True when the whole value lies after ``today`` (nothing of it has happened yet)."""
    return parsed.start > (today or dt.date.today())
