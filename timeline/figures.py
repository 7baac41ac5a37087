"""How the site says a figure: a number as its source states it ('about 50', 'at least 6',
'116,000') and an amount with its currency ('USD 69,000,000').

The words come from ``schema.QUALIFIER_WORDS``. The pages say them through the template
filters of ``plugins/jinja_filters.py``; the views that list figures as text
(``timeline.views``) say them in SQL written from the same words (``quantity_sql``), so a
page and a table or a CSV file give one figure the same way.
"""

from __future__ import annotations

from .schema import QUALIFIER_WORDS

# What a figure says when its source gives no number.
NO_NUMBER = "number not stated"


def figure_words(quantity: int | None, qualifier: str | None, *, grouped: bool = True) -> str:
    """The number with its qualifier's words, or NO_NUMBER when the source gives none.
    ``grouped``: with a comma between thousands, as the pages write numbers (the SQL text
    does not).

    >>> figure_words(116000, "exact"), figure_words(50, "approximate", grouped=False)
    ('116,000', 'about 50')
    >>> figure_words(6, "at-least"), figure_words(None, None)
    ('at least 6', 'number not stated')
    """
    if quantity is None:
        return NO_NUMBER
    number = f"{quantity:,}" if grouped else str(quantity)
    words = QUALIFIER_WORDS[qualifier or "exact"]
    return f"{words} {number}" if words else number


def quantity_sql(quantity: str = "quantity", qualifier: str = "quantity_qualifier") -> str:
    """SQL giving ``figure_words`` of two columns, without the commas between thousands."""
    cases = " ".join(f"when '{code}' then '{f'{words} ' if words else ''}'"
                     for code, words in QUALIFIER_WORDS.items())  # fmt: skip
    return (
        f"(case when {quantity} is null then '{NO_NUMBER}' else case coalesce({qualifier},"
        f" 'exact') {cases} else '' end || {quantity} end)"
    )


def value_words(value: float | None, currency: str | None) -> str:
    """The amount as its source states it, with its currency: whole amounts without
    decimals, others with theirs; '' without an amount.

    >>> value_words(69_000_000, "USD"), value_words(1.5, "EUR"), value_words(None, "USD")
    ('USD 69,000,000', 'EUR 1.5', '')
    """
    if value is None:
        return ""
    amount = f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
    return f"{currency} {amount}" if currency else amount
