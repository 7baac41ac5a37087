"""Country names for the ISO 3166-1 alpha-2 codes the data uses (from pycountry)."""

from functools import cache

import pycountry


@cache
def country_name(code: str) -> str:
    """The common English name of a country code, or the code itself when unknown.

    >>> country_name("TR")
    'Türkiye'
    """
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name
