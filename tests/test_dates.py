"""Every accepted date form, every rejection, and agreement with the EDTF reference library."""

import datetime as dt

import pytest
from edtf import parse_edtf

from timeline.dates import DATE_CACHE_SIZE, DateError, _parse_text, is_future, parse_date

ACCEPTED = [
    # written, canonical, start, end, precision, approximate, uncertain, label
    ("2019", "2019", "2019-01-01", "2019-12-31", "year", False, False, "2019"),
    (2019, "2019", "2019-01-01", "2019-12-31", "year", False, False, "2019"),
    ("2021-04", "2021-04", "2021-04-01", "2021-04-30", "month", False, False, "April 2021"),
    ("2024-02", "2024-02", "2024-02-01", "2024-02-29", "month", False, False, "February 2024"),
    ("2021-04-15", "2021-04-15", "2021-04-15", "2021-04-15", "day", False, False, "15 April 2021"),
    (dt.date(2021, 4, 15), "2021-04-15", "2021-04-15", "2021-04-15", "day", False, False,
     "15 April 2021"),
    ("2021-04~", "2021-04~", "2021-04-01", "2021-04-30", "month", True, False, "c. April 2021"),
    ("2019?", "2019?", "2019-01-01", "2019-12-31", "year", False, True, "2019 (uncertain)"),
    ("2021-04-15%", "2021-04-15%", "2021-04-15", "2021-04-15", "day", True, True,
     "c. 15 April 2021 (uncertain)"),
    ("2020-09-27/2020-11-10", "2020-09-27/2020-11-10", "2020-09-27", "2020-11-10", "day", False,
     False, "27 September – 10 November 2020"),
    ("2019-01-12/2019-01-14", "2019-01-12/2019-01-14", "2019-01-12", "2019-01-14", "day", False,
     False, "12–14 January 2019"),
    ("2019-01/2019-03", "2019-01/2019-03", "2019-01-01", "2019-03-31", "month", False, False,
     "January–March 2019"),
    ("2019/2021", "2019/2021", "2019-01-01", "2021-12-31", "year", False, False, "2019–2021"),
    ("2019-12-30/2020-01-02", "2019-12-30/2020-01-02", "2019-12-30", "2020-01-02", "day", False,
     False, "30 December 2019 – 2 January 2020"),
    ("2019/2021-04~", "2019/2021-04~", "2019-01-01", "2021-04-30", "year", True, False,
     "2019 – c. April 2021"),
    ("15 April 2021", "2021-04-15", "2021-04-15", "2021-04-15", "day", False, False,
     "15 April 2021"),
    ("April 15, 2021", "2021-04-15", "2021-04-15", "2021-04-15", "day", False, False,
     "15 April 2021"),
    ("April 2021", "2021-04", "2021-04-01", "2021-04-30", "month", False, False, "April 2021"),
    ("Feb 2022", "2022-02", "2022-02-01", "2022-02-28", "month", False, False, "February 2022"),
    ("  2014-03-18 ", "2014-03-18", "2014-03-18", "2014-03-18", "day", False, False,
     "18 March 2014"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("written", "canonical", "start", "end", "precision", "approx", "uncertain", "label"), ACCEPTED
)
def test_accepted_forms(written, canonical, start, end, precision, approx, uncertain, label):
    d = parse_date(written)
    assert d.canonical == canonical
    assert (d.start.isoformat(), d.end.isoformat()) == (start, end)
    assert (d.precision, d.approximate, d.uncertain) == (precision, approx, uncertain)
    assert d.label == label


def test_year_never_gains_todays_month_or_day():
    """dateutil alone would give 2019 today's month and day; we keep a year."""
    for written in ("2019", 2019, "2019?"):
        d = parse_date(written)
        assert d.precision == "year"
        assert d.month is None
        assert (d.start, d.end) == (dt.date(2019, 1, 1), dt.date(2019, 12, 31))


def test_month_form_never_gains_a_day():
    d = parse_date("April 2021")
    assert d.precision == "month" and d.canonical == "2021-04"


@pytest.mark.parametrize(
    "written", ["2019", "2021-04", "2021-04-15", "2021-04~", "2019?", "2020-09-27/2020-11-10"]
)
def test_edtf_forms_agree_with_reference_library(written):
    ours = parse_date(written)
    ref = parse_edtf(written)
    assert ours.start == dt.date(*ref.lower_strict()[:3])
    assert ours.end == dt.date(*ref.upper_strict()[:3])


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2022-02-30", "2022-02-30 is not a real date"),
        ("2021-13", "2021-13 is not a real date"),
        ("2021-04-31", "2021-04-31 is not a real date"),
        ("2023-02-29", "2023-02-29 is not a real date"),
        ("2021/2019", "ends before it starts"),
        ("2021-05-01/2021-04", "ends before it starts"),
        ("2020/2021/2022", "exactly two ends"),
        ("2020/", "exactly two ends"),
        ("April", "no four-digit year"),
        ("15 April", "no four-digit year"),
        ("21 April 21", "no four-digit year"),
        ("yesterday", "is not a date"),
        ("", "empty"),
        ("   ", "empty"),
        ("2021-04-15T10:00", "time of day"),
        ("0000", "outside the years"),
        (True, "true or false"),
        (dt.datetime(2021, 4, 15, 10, 0), "time of day"),
        (3.5, "got float"),
        (["2021"], "got list"),
        (123456, "four-digit year"),
    ],
)
def test_rejections(written, message):
    with pytest.raises(DateError, match=message):
        parse_date(written)


def test_sort_key_puts_coarser_values_first_within_the_same_start():
    values = ["2019-01-01", "2019", "2019-01", "2018-12-31", "2019-01-02"]
    ordered = sorted(values, key=lambda v: parse_date(v).sort_key)
    assert ordered == ["2018-12-31", "2019", "2019-01", "2019-01-01", "2019-01-02"]


def test_is_future_compares_the_start_of_the_value():
    today = dt.date(2026, 11, 21)
    assert not is_future(parse_date("2026"), today)  # the year has begun
    assert not is_future(parse_date("2026-11"), today)
    assert is_future(parse_date("2026-11-22"), today)
    assert is_future(parse_date("2027"), today)


def test_padded_dates_share_one_bounded_cache_entry():
    """?from=15<40,000 spaces>April 2021 must not keep 40 KB per request in the cache."""
    _parse_text.cache_clear()
    for n in range(1, 300):
        assert parse_date("15" + " \t" * 150 * n + "April 2021").canonical == "2021-04-15"
    assert _parse_text.cache_info().currsize == 1
    with pytest.raises(DateError, match="too long"):
        parse_date("2021-04-15" + "?" * 100)
    assert _parse_text.cache_info().maxsize == DATE_CACHE_SIZE
