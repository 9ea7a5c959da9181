"""A Backpage-like posting price table: what an ad cost its owner, in USD.

Prices depend on the region tier of the state, the category, the kind of post
(``post``, ``bump`` = move to top, ``repost`` = automatic repost) and whether the ad
was sponsored; a post placed in several locations costs the sum (``n_locations`` times
the per-location price). The table is configurable (``PriceTable.from_json``); the
default values are illustrative of 2015-2016 adult-section prices, not a record of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# Big-market states cost more to post in.
DEFAULT_TIERS: dict[str, str] = {
    **{s: "metro" for s in ("CA", "NY", "TX", "FL", "IL", "NV", "NJ", "GA", "DC", "MA", "WA")},
}

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    # tier -> item -> USD per location
    "metro": {"post": 12.0, "bump": 6.0, "repost": 9.0, "sponsor": 35.0},
    "other": {"post": 6.0, "bump": 3.0, "repost": 4.5, "sponsor": 18.0},
}

DEFAULT_CATEGORY_FACTOR: dict[str, float] = {
    "escorts": 1.0,
    "body rubs": 0.75,
    "women seeking men": 0.5,
    "adult jobs": 0.5,
}

POST_KINDS = ("post", "bump", "repost")


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: DEFAULT_PRICES)
    tiers: dict[str, str] = field(default_factory=lambda: DEFAULT_TIERS)
    category_factor: dict[str, float] = field(default_factory=lambda: DEFAULT_CATEGORY_FACTOR)
    default_tier: str = "other"

    @classmethod
    def from_json(cls, path: str | Path) -> PriceTable:
        """Load ``{"prices": ..., "tiers": ..., "category_factor": ...}`` from a file."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            prices=data.get("prices", DEFAULT_PRICES),
            tiers=data.get("tiers", DEFAULT_TIERS),
            category_factor=data.get("category_factor", DEFAULT_CATEGORY_FACTOR),
            default_tier=data.get("default_tier", "other"),
        )

    def tier(self, state: str | None) -> str:
        return self.tiers.get((state or "").upper(), self.default_tier)

    def cost_usd(
        self,
        state: str | None,
        category: str | None,
        post_kind: str | None = "post",
        sponsored: bool | None = False,
        n_locations: int | None = 1,
    ) -> float:
        """Expected USD cost of one ad (sum over its locations)."""
        kind = post_kind or "post"
        if kind not in POST_KINDS:
            raise ValueError(f"unknown post kind {kind!r} (expected one of {POST_KINDS})")
        row = self.prices[self.tier(state)]
        factor = self.category_factor.get((category or "").lower(), 1.0)
        each = row[kind] * factor + (row["sponsor"] if sponsored else 0.0)
        return round(each * max(int(n_locations or 1), 1), 2)
