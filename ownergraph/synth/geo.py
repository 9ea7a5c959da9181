"""Places of the synthetic world: cities with their state, area codes, time zone and
site subdomain, grouped into regions that operations travel around."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    state: str
    area_codes: tuple[str, ...]
    tz: str
    weight: float  # relative market size

    @property
    def sub(self) -> str:
        """Site subdomain, e.g. ``sandiego``."""
        return "".join(ch for ch in self.name.lower() if ch.isalnum())


_PT, _MT, _AZ = "America/Los_Angeles", "America/Denver", "America/Phoenix"
_CT, _ET, _HI = "America/Chicago", "America/New_York", "Pacific/Honolulu"
_IN = "America/Indiana/Indianapolis"

# name, state, area codes, tz, weight
_CITIES: list[tuple[str, str, str, str, float]] = [
    ("Los Angeles", "CA", "213 323 310 818 626", _PT, 10),
    ("San Diego", "CA", "619 858", _PT, 5),
    ("San Francisco", "CA", "415", _PT, 4),
    ("Oakland", "CA", "510", _PT, 3),
    ("Sacramento", "CA", "916", _PT, 3),
    ("San Jose", "CA", "408", _PT, 3),
    ("Fresno", "CA", "559", _PT, 1.5),
    ("Orange County", "CA", "714 949", _PT, 4),
    ("Inland Empire", "CA", "909 951", _PT, 3),
    ("Las Vegas", "NV", "702", _PT, 7),
    ("Reno", "NV", "775", _PT, 1.5),
    ("Phoenix", "AZ", "602 480 623", _AZ, 5),
    ("Tucson", "AZ", "520", _AZ, 1.5),
    ("Seattle", "WA", "206 425", _PT, 4),
    ("Spokane", "WA", "509", _PT, 1),
    ("Portland", "OR", "503 971", _PT, 3),
    ("Salt Lake City", "UT", "801 385", _MT, 1.5),
    ("Denver", "CO", "303 720", _MT, 4),
    ("Colorado Springs", "CO", "719", _MT, 1),
    ("Albuquerque", "NM", "505", _MT, 1),
    ("Houston", "TX", "713 832 281", _CT, 8),
    ("Dallas", "TX", "214 469 972", _CT, 7),
    ("Austin", "TX", "512 737", _CT, 3),
    ("San Antonio", "TX", "210", _CT, 3),
    ("Fort Worth", "TX", "817 682", _CT, 2),
    ("Oklahoma City", "OK", "405", _CT, 1.5),
    ("Tulsa", "OK", "918", _CT, 1),
    ("New Orleans", "LA", "504", _CT, 2),
    ("Baton Rouge", "LA", "225", _CT, 1),
    ("Chicago", "IL", "312 773 872 708", _CT, 8),
    ("Minneapolis", "MN", "612 763 952", _CT, 3),
    ("Milwaukee", "WI", "414", _CT, 1.5),
    ("St. Louis", "MO", "314 636", _CT, 2),
    ("Kansas City", "MO", "816", _CT, 2),
    ("Memphis", "TN", "901", _CT, 1.5),
    ("Nashville", "TN", "615 629", _CT, 2),
    ("Birmingham", "AL", "205", _CT, 1),
    ("Huntsville", "AL", "256", _CT, 0.8),
    ("Indianapolis", "IN", "317", _IN, 2),
    ("Louisville", "KY", "502", _ET, 1.2),
    ("Detroit", "MI", "313 248 734", _ET, 4),
    ("Grand Rapids", "MI", "616", _ET, 1),
    ("Columbus", "OH", "614", _ET, 2),
    ("Cleveland", "OH", "216 440", _ET, 2),
    ("Cincinnati", "OH", "513", _ET, 1.5),
    ("Atlanta", "GA", "404 678 770 470", _ET, 7),
    ("Savannah", "GA", "912", _ET, 0.8),
    ("Miami", "FL", "305 786", _ET, 6),
    ("Fort Lauderdale", "FL", "954 754", _ET, 3),
    ("Orlando", "FL", "407 321", _ET, 4),
    ("Tampa", "FL", "813 727", _ET, 4),
    ("Jacksonville", "FL", "904", _ET, 2),
    ("Charlotte", "NC", "704 980", _ET, 3),
    ("Raleigh", "NC", "919 984", _ET, 2),
    ("Columbia", "SC", "803", _ET, 1),
    ("Charleston", "SC", "843", _ET, 1),
    ("Richmond", "VA", "804", _ET, 1.5),
    ("Norfolk", "VA", "757", _ET, 1.5),
    ("Washington", "DC", "202", _ET, 4),
    ("Baltimore", "MD", "410 443", _ET, 3),
    ("Philadelphia", "PA", "215 267", _ET, 4),
    ("Pittsburgh", "PA", "412", _ET, 2),
    ("New York", "NY", "212 718 917 646 347", _ET, 10),
    ("Long Island", "NY", "516 631", _ET, 3),
    ("Buffalo", "NY", "716", _ET, 1.2),
    ("Albany", "NY", "518", _ET, 1),
    ("North Jersey", "NJ", "973 201 862", _ET, 3),
    ("Jersey Shore", "NJ", "732 848", _ET, 1.5),
    ("Boston", "MA", "617 857 781", _ET, 4),
    ("Hartford", "CT", "860", _ET, 1.2),
    ("Honolulu", "HI", "808", _HI, 1.5),
]

CITIES: tuple[City, ...] = tuple(City(n, s, tuple(a.split()), tz, w) for n, s, a, tz, w in _CITIES)

# Regions operations circulate in (with occasional hops to another region).
REGIONS: dict[str, tuple[str, ...]] = {
    "west": ("CA", "NV", "AZ", "OR", "WA", "UT", "NM", "CO", "HI"),
    "south": ("TX", "OK", "LA", "AL", "TN"),
    "southeast": ("GA", "FL", "NC", "SC", "TN", "AL", "VA"),
    "midwest": ("IL", "MN", "WI", "MO", "IN", "MI", "OH", "KY"),
    "northeast": ("NY", "NJ", "PA", "MA", "CT", "MD", "DC", "VA"),
}


def cities_in(states: tuple[str, ...] | list[str]) -> list[City]:
    wanted = set(states)
    return [c for c in CITIES if c.state in wanted]


def region_of(state: str) -> str:
    for name, states in REGIONS.items():
        if state in states:
            return name
    raise KeyError(f"state {state!r} is in no region")
