"""Parameters of a synthetic world. Every knob has a default; ``WorldConfig.from_json``
reads overrides from a JSON object (unknown keys are an error, never ignored).

The defaults are calibrated against real Backpage ads (the CA scrape and the DIG sets):
``benchmarks/bench_world_vs_real.py`` prints both side by side (plain TF-IDF TPR at FPR
1 %, near-duplicate share, ads per phone, text length, structured-name share). A scrape
is a short window: most posters show one or two ads, operations a handful."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WorldConfig:
    # ---- time ----
    start: str = "2016-01-01T00:00:00+00:00"
    """World start (ISO 8601); owners arrive over ``days`` days from here."""
    days: float = 180.0
    """Nominal length; owners keep arriving until ``n_ads`` ads exist."""

    # ---- owners ----
    operation_share: float = 0.02
    """Share of owners that are operations (the rest are independent workers)."""
    indep_days_median: float = 0.8
    indep_ads_per_day_median: float = 0.3
    op_days_median: float = 6.0
    op_ads_per_day_median: float = 1.5
    op_people_median: float = 6.0
    op_people_max: int = 40
    op_writers_max: int = 3
    op_single_writer_share: float | None = 0.75
    """Share of operations whose ads one writer writes (the rest have 2 or 3 writers; None:
    the pre-2026-12 draw, 2 in 5)."""
    op_phone_period_days: float = 25.0
    """Mean days a person of an operation keeps one phone before it is rotated."""
    op_burner_rate: float = 0.05
    """Share of an operation's ads that show a burner phone used only once."""
    op_booking_line_share: float = 1.0
    """Share of operations with a central booking phone shown on their ads. Calibrated
    (2026-12) so that, as on the real Backpage sets, the model's most alike candidate pairs
    mostly share an identifier component (``bench_world_vs_real.py --model``)."""
    op_booking_ad_rate: float = 0.9
    """Share of such an operation's ads that show the booking phone (half of them alone)."""
    op_booking_period_days: float = 10.0
    """Mean days an operation keeps one booking phone before it replaces it (inf: never).
    For a week after a change, about a third of its booking ads show the old line too."""
    indep_phone_switch_rate: float = 0.1
    """Share of independents who change their phone once during their life."""
    two_phone_rate: float = 0.06
    """Share of ads listing a second phone of the same owner."""
    no_contact_rate: float = 0.03
    """Share of ads with neither phone nor e-mail in the text."""
    email_owner_share: float = 0.15
    email_ad_rate: float = 0.45
    shared_template_share: float = 0.08
    """Share of independents who post a popular copy-paste template (text alone misleads)."""
    style_drift_days: float = 20.0
    """Mean days between small rewrites of a writer's template."""
    repost_copy_rate: float = 0.5
    """Chance that a repost reuses the text of the poster's last ad (bumps do so 75% of
    the time): template copies, near-duplicates in the text."""
    persona_change_rate: float = 0.15
    """Share of independents who once switch to a new persona (another name, another way
    of writing: a new author) under the same phone."""
    shared_line_share: float = 0.05
    """Share of independents who list a shared line: a booking or agency phone that
    several unrelated owners show (a generic identifier)."""
    shared_line_ad_rate: float = 0.6
    """Share of those independents' ads that show the shared line."""
    shared_line_owners: float = 6.0
    """Mean number of unrelated owners who list one shared line."""
    signature_rate: float = 0.4
    """Chance that a writer keeps personal signature phrases (rare n-grams of its own)."""

    # ---- Bitcoin ----
    op_btc_owner_share: float = 0.6
    op_btc_ad_share: float = 0.45
    """Share of a BTC-using operation's ads paid in BTC (about 27% of all operation ads)."""
    indep_btc_owner_share: float = 0.12
    indep_btc_ad_share: float = 0.4
    n_processors: int = 3
    processor_rounding_sat: int = 1000
    """Processors round invoice amounts up to a multiple of this (1000 sat = 1e-5 BTC)."""
    processor_spread_max: float = 0.008
    """Each processor quotes at a rate up to this fraction below the market."""
    lag_min_s: int = 5
    lag_max_s: int = 90
    lag_median_s: float = 25.0
    invoice_delay_max_s: int = 600
    sweep_hours: float = 6.0
    noise_tx_per_payment: float = 1.5
    decoy_near_payment_rate: float = 0.12
    """Per payment: chance of an unrelated processor payment of a similar USD amount
    within two minutes (a genuine ambiguity for the matcher)."""
    coinjoin_per_1k_payments: float = 4.0
    owner_coinjoin_rate: float = 0.3
    """Chance a CoinJoin includes one owner's wallet."""
    mempool_missing_rate: float = 0.005
    """Share of transactions absent from the mempool log (first-seen falls back to block)."""
    btc_usd_start: float = 430.0
    btc_usd_daily_vol: float = 0.03
    btc_usd_low: float = 250.0
    btc_usd_high: float = 700.0
    start_height: int = 391_000

    # ---- output ----
    site: str = "backpage.com"
    name_field_share: float = 0.0
    """Share of ads whose record carries the advertised name as a structured ``name``
    field (real dumps: none; the name stays in the text and in ``truth/ads.csv``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown world config keys: {unknown}; known: {sorted(known)}")
        cfg = replace(cls(), **data)
        cfg.validate()
        return cfg

    @classmethod
    def from_json(cls, path: str | Path) -> WorldConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def validate(self) -> None:
        rates = [
            "operation_share",
            "op_burner_rate",
            "op_booking_line_share",
            "op_booking_ad_rate",
            "indep_phone_switch_rate",
            "two_phone_rate",
            "no_contact_rate",
            "email_owner_share",
            "email_ad_rate",
            "shared_template_share",
            "persona_change_rate",
            "repost_copy_rate",
            "shared_line_share",
            "shared_line_ad_rate",
            "signature_rate",
            "name_field_share",
            "op_btc_owner_share",
            "op_btc_ad_share",
            "indep_btc_owner_share",
            "indep_btc_ad_share",
            "decoy_near_payment_rate",
            "owner_coinjoin_rate",
            "mempool_missing_rate",
            "processor_spread_max",
        ]
        for name in rates:
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"world config {name}={v!r}: must be within [0, 1]")
        if not 0 < self.lag_min_s <= self.lag_max_s <= 600:
            raise ValueError("world config: need 0 < lag_min_s <= lag_max_s <= 600")
        if self.n_processors < 1 or self.processor_rounding_sat < 1:
            raise ValueError("world config: need n_processors >= 1, processor_rounding_sat >= 1")
        if not 0 < self.btc_usd_low < self.btc_usd_start < self.btc_usd_high:
            raise ValueError("world config: need btc_usd_low < btc_usd_start < btc_usd_high")
        if self.shared_line_owners < 1.0:
            raise ValueError("world config shared_line_owners: must be at least 1")
        share = self.op_single_writer_share
        if share is not None and not 0.0 <= share <= 1.0:
            raise ValueError(f"world config op_single_writer_share={share!r}: within [0, 1]")
        if not self.op_booking_period_days > 0:
            raise ValueError("world config: op_booking_period_days must be > 0 (inf: never)")
        if self.days <= 0 or self.op_people_max < 2 or self.op_writers_max < 1:
            raise ValueError("world config: need days > 0, op_people_max >= 2, writers >= 1")
