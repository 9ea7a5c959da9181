"""Where a group posted, day by day: its cities per UTC day and its stays in time order.

A day's *main* city is the one with the most ads that day (ties: the city posted in first
that day). Consecutive days with the same main city form a *stay*; the stays in time order
are the group's movement path (a day without ads does not end a stay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DAY = 86_400


@dataclass
class Stay:
    """Consecutive active days whose main city is ``city``."""

    city: str
    state: str
    first_ts: int
    last_ts: int
    days: int  # active days
    ads: int  # the ads posted there on those days


def city_days(ads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (UTC day, city): day_ts, city, state, ads, first_ts; in time order."""
    cells: dict[tuple[int, str, str], list[int]] = {}
    for a in ads:
        ts = a.get("posted_ts")
        if ts is None:
            continue
        ts = int(ts)
        key = (ts // DAY * DAY, a.get("city") or "", a.get("state") or "")
        cell = cells.setdefault(key, [0, ts])
        cell[0] += 1
        cell[1] = min(cell[1], ts)
    rows = [
        {"day_ts": d, "city": c, "state": s, "ads": n, "first_ts": first}
        for (d, c, s), (n, first) in cells.items()
    ]
    return sorted(rows, key=lambda r: (r["day_ts"], r["first_ts"], r["state"], r["city"]))


def stays(ads: Iterable[dict[str, Any]]) -> list[Stay]:
    """The movement path: stays in the day's main city, in time order."""
    by_day: dict[int, list[dict[str, Any]]] = {}
    for r in city_days(ads):
        by_day.setdefault(r["day_ts"], []).append(r)
    out: list[Stay] = []
    for day in sorted(by_day):
        rows = by_day[day]
        main = max(rows, key=lambda r: (r["ads"], -r["first_ts"]))
        if out and (out[-1].city, out[-1].state) == (main["city"], main["state"]):
            s = out[-1]
            s.last_ts, s.days, s.ads = day, s.days + 1, s.ads + main["ads"]
        else:
            out.append(Stay(main["city"], main["state"], day, day, 1, main["ads"]))
    return out


def moves(path: list[Stay]) -> Counter[tuple[tuple[str, str], tuple[str, str]]]:
    """How often the group moved from one (city, state) to another."""
    return Counter(
        ((a.city, a.state), (b.city, b.state)) for a, b in zip(path, path[1:], strict=False)
    )
