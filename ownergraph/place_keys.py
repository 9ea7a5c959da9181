"""Keys of an ad's written place for counting places (the owner indicators' ``states``,
``cities`` and ``moves``): the keys are :func:`ownergraph.places.place_key`'s -- the one
key of a place, also that of ``Location`` nodes -- after the obvious fixes of what an
ad file wrote.

Not a gazetteer: case and spacing are folded, a region is a US state or Canadian
province by code or name (:func:`ownergraph.places.region_code`; another region is
kept as written, upper-cased), and a trailing region in the city ("Odessa, Texas",
"Odessa, TX") is dropped from the city when it names the ad's region (or gives the
region when the ad has none). A trailing region that contradicts the ad's is kept in
the city, so the two places stay distinct.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pandas as pd

from ownergraph import places

_SPACE = re.compile(r"\s+")
_TRAIL = re.compile(r"^(?P<city>.+?)\s*,\s*(?P<region>[A-Za-z .]+?)\.?\s*$")


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):  # None, NaN or NA
        return ""
    return _SPACE.sub(" ", str(v)).strip()


def place_key(state: Any, city: Any, country: Any = None) -> tuple[str | None, str | None]:
    """``(region key, city key)`` of a written place, both
    :func:`ownergraph.places.place_key` keys (``country|region|`` and
    ``country|region|city``); ``None`` where it is unknown.

    >>> place_key("TX", "Odessa, Texas"), place_key(None, "Odessa, TX")
    (('US|TX|', 'US|TX|odessa'), ('US|TX|', 'US|TX|odessa'))
    """
    return _key(_text(state), _text(city), _text(country))


@lru_cache(maxsize=65_536)
def _key(st: str, c: str, country: str) -> tuple[str | None, str | None]:
    cc = places.country_code(country) if country else None
    code = None
    if st:
        found, code = places.region_code(st, cc)
        cc = found or cc
        if code is None:
            code = st.upper()  # not a US state or Canadian province: kept as written
    m = _TRAIL.match(c)
    if m:
        found, named = places.region_code(m.group("region").strip(), cc)
        if named is not None and (code is None or named == code):
            cc, code, c = found or cc, named, m.group("city")
    city = c.strip(" .,")
    region_key = places.place_key(cc, code) if code else None
    city_key = places.place_key(cc, code, city) if city else None
    return region_key, city_key
