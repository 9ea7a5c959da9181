"""``generate_world``: stream a seeded synthetic world with its ground truth to a folder.

Events (owner arrivals, ads, processor sweeps, blocks) are processed in time order; ads,
blocks and truth rows are written as they happen and owners are dropped when they
retire, so memory stays flat however many ads are asked for. The same seed and config
give byte-identical files.
"""

from __future__ import annotations

import csv
import heapq
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from ownergraph.linking.prices import PriceTable
from ownergraph.synth.chain import Chain
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.owners import DAY, Owner, PhoneBook, SharedLines
from ownergraph.synth.rates import RateWalk
from ownergraph.synth.vocab import CATEGORY_PATH, POPULAR_TEMPLATES

FORMAT_VERSION = 1
_ARRIVE, _POST = 0, 1
_SLUG = re.compile(r"[^a-z0-9]+")
_TZ: dict[str, ZoneInfo] = {}

ADS_TRUTH_COLUMNS = [
    "ad_id",
    "owner_id",
    "author_id",
    "person_id",
    "paid_btc",
    "price_usd",
    "posted_ts",
    "phones",
    "emails",
    "owner_kind",
    "name",
    "shared_phones",
]
PAYMENT_COLUMNS = [
    "txid",
    "ad_id",
    "first_seen",
    "lag_s",
    "usd",
    "sat",
    "quoted_rate",
    "processor",
    "wallet_id",
    "owner_id",
]
OWNER_COLUMNS = [
    "owner_id",
    "kind",
    "n_people",
    "n_states",
    "n_cities",
    "n_phones",
    "n_emails",
    "n_authors",
    "n_wallets",
    "n_ads",
    "n_paid_btc",
    "first_ts",
    "last_ts",
    "home_state",
    "home_city",
    "uses_btc",
    "popular_template",
]


@dataclass
class WorldSummary:
    out_dir: str
    seed: int
    n_ads: int
    n_owners: int = 0
    n_operations: int = 0
    n_paid_ads: int = 0
    start_ts: int = 0
    end_ts: int = 0
    seconds: float = 0.0
    chain: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tz(name: str) -> ZoneInfo:
    if name not in _TZ:
        _TZ[name] = ZoneInfo(name)
    return _TZ[name]


def _slug(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-")[:60] or "ad"


def write_prices(table: PriceTable, path: Path) -> None:
    data = {
        "prices": table.prices,
        "tiers": table.tiers,
        "category_factor": table.category_factor,
        "default_tier": table.default_tier,
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def generate_world(
    out_dir: str | Path,
    n_ads: int = 20_000,
    seed: int = 0,
    config: WorldConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WorldSummary:
    """Write a world of ``n_ads`` ads to ``out_dir`` (see the team's file formats).

    Files: ``ads.jsonl``, ``bitcoin/blocks.jsonl``, ``bitcoin/mempool_first_seen.csv``,
    ``bitcoin/processor_addresses.txt``, ``rates.csv``, ``prices.json`` and ``truth/``
    (``ads.csv``, ``payments.csv``, ``addresses.csv``, ``owners.csv``, ``txs.csv``,
    ``world.json``). ``progress(done, total)`` is called every 1000 ads.
    """
    if n_ads < 1:
        raise ValueError(f"n_ads must be at least 1, got {n_ads}")
    cfg = config or WorldConfig()
    cfg.validate()
    t_start = time.perf_counter()
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    seed_s = f"ownergraph-synth-v{FORMAT_VERSION}/{seed}"
    start_ts = int(datetime.fromisoformat(cfg.start).timestamp())
    prices = PriceTable()
    write_prices(prices, out / "prices.json")

    f_rates = (out / "rates.csv").open("w", encoding="utf-8", newline="")
    rates = RateWalk(
        seed_s,
        start_ts - 2 * 86400,
        start=cfg.btc_usd_start,
        daily_vol=cfg.btc_usd_daily_vol,
        low=cfg.btc_usd_low,
        high=cfg.btc_usd_high,
        out=f_rates,
    )
    chain = Chain(seed_s, cfg, rates, out, start_ts, n_noise_wallets=40 + n_ads // 500)
    phonebook = PhoneBook(seed_s)
    shared_lines = SharedLines(seed_s, phonebook, cfg.shared_line_owners)
    name_rng = Random(f"{seed_s}/name-field")
    popular_weights = [1.0 / (k + 1) for k in range(len(POPULAR_TEMPLATES))]
    rng = Random(f"{seed_s}/world")
    # Owners arrive so that the ads they are expected to post accumulate at an even pace
    # of n_ads / days: after a big operation arrives, the next arrival waits longer.
    ads_per_s = n_ads / (cfg.days * DAY)

    f_ads = (out / "ads.jsonl").open("w", encoding="utf-8", newline="")
    truth = out / "truth"
    f_tads = (truth / "ads.csv").open("w", encoding="utf-8", newline="")
    f_pay = (truth / "payments.csv").open("w", encoding="utf-8", newline="")
    f_own = (truth / "owners.csv").open("w", encoding="utf-8", newline="")
    w_tads = csv.writer(f_tads, lineterminator="\n")
    w_pay = csv.writer(f_pay, lineterminator="\n")
    w_own = csv.DictWriter(f_own, fieldnames=OWNER_COLUMNS, lineterminator="\n")
    w_tads.writerow(ADS_TRUTH_COLUMNS)
    w_pay.writerow(PAYMENT_COLUMNS)
    w_own.writeheader()

    summary = WorldSummary(out_dir=str(out), seed=seed, n_ads=0, start_ts=start_ts)
    owners: dict[int, Owner] = {}
    heap: list[tuple[float, int, int, int]] = []
    seq = 0

    def push(t: float, kind: int, idx: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, idx))

    def retire(o: Owner) -> None:
        if o.n_ads:  # an owner who never posted is not part of the truth
            w_own.writerow(o.truth_row())
            summary.n_owners += 1
            summary.n_operations += o.kind == "operation"
        owners.pop(o.idx, None)

    push(start_ts + rng.expovariate(1.0) * 10.0 / ads_per_s, _ARRIVE, -1)
    next_idx = 0
    ad_num = 10_000_000 + rng.randint(0, 5_000_000)
    clock = start_ts
    emitted = 0
    while emitted < n_ads:
        t, _, kind, idx = heapq.heappop(heap)
        clock = int(t)
        chain.advance(clock)
        chain.sweep_due(clock)
        if kind == _ARRIVE:
            op = rng.random() < cfg.operation_share
            o = Owner(
                next_idx,
                "operation" if op else "independent",
                cfg,
                seed_s,
                t,
                phonebook,
                popular_weights,
                shared_lines,
            )
            owners[next_idx] = o
            next_idx += 1
            nt = o.next_post(t)
            if nt is None:
                retire(o)
            else:
                push(nt, _POST, o.idx)
            gap = rng.expovariate(1.0) * max(o.expected_ads, 1.0) / ads_per_s
            push(t + gap, _ARRIVE, -1)
            continue

        o = owners[idx]
        d = o.make_ad(t)
        ad_num += rng.randint(1, 40)
        ad_id = str(ad_num)
        city = d.city
        posted_at = datetime.fromtimestamp(clock, tz=_tz(city.tz)).isoformat()
        host = f"{city.sub}.{cfg.site}"
        url = f"http://{host}/{CATEGORY_PATH[d.category]}/{_slug(d.title)}/{ad_id}"
        ad = {
            "id": ad_id,
            "site": cfg.site,
            "url": url,
            "posted_at": posted_at,
            "title": d.title,
            "body": d.body,
            "city": city.name,
            "state": city.state,
            "category": d.category,
            "name": d.person.name,
            "age": int(d.person.ctx["age"]),
            "post_kind": d.post_kind,
            "sponsored": d.sponsored,
            "n_locations": d.n_locations,
        }
        if name_rng.random() >= cfg.name_field_share:
            del ad["name"]  # real dumps carry the name only in the text
        f_ads.write(json.dumps(ad, ensure_ascii=False) + "\n")
        price = prices.cost_usd(city.state, d.category, d.post_kind, d.sponsored, d.n_locations)
        paid = False
        if d.pay_btc:
            pay = chain.pay_for_ad(o, price, clock)
            if pay is not None:
                paid = True
                o.n_paid += 1
                summary.n_paid_ads += 1
                w_pay.writerow(
                    [
                        pay.txid,
                        ad_id,
                        pay.first_seen,
                        pay.lag_s,
                        f"{price:.2f}",
                        pay.sat,
                        f"{pay.quoted_rate:.4f}",
                        pay.processor,
                        pay.wallet_id,
                        o.id,
                    ]
                )
                if rng.random() < cfg.coinjoin_per_1k_payments / 1000.0:
                    mine = (
                        rng.choice(o.wallets)
                        if o.wallets and rng.random() < cfg.owner_coinjoin_rate
                        else None
                    )
                    chain.coinjoin(clock, mine)
        w_tads.writerow(
            [
                ad_id,
                o.id,
                d.author_id,
                d.person.id,
                paid,
                f"{price:.2f}",
                clock,
                ";".join("+1" + p for p in dict.fromkeys(d.phones)),
                d.email or "",
                o.kind,
                d.person.name,
                "+1" + o.shared_line if o.shared_line and o.shared_line in d.phones else "",
            ]
        )
        emitted += 1
        if progress is not None and emitted % 1000 == 0:
            progress(emitted, n_ads)
        nt = o.next_post(t)
        if nt is None:
            retire(o)
        else:
            push(nt, _POST, o.idx)

    for idx in sorted(owners):
        retire(owners[idx])
    chain.finish()
    rates.finish(max(clock, chain.mined_until) + 86400)
    for f in (f_rates, f_ads, f_tads, f_pay, f_own):
        f.close()

    summary.n_ads = emitted
    summary.end_ts = clock
    summary.chain = dict(chain.counts)
    summary.seconds = round(time.perf_counter() - t_start, 3)
    world = {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "n_ads": emitted,
        "parameters": cfg.to_dict(),
        "counts": {
            "owners": summary.n_owners,
            "operations": summary.n_operations,
            "paid_ads": summary.n_paid_ads,
            **summary.chain,
        },
        "start_ts": start_ts,
        "end_ts": clock,
    }
    (truth / "world.json").write_text(json.dumps(world, indent=2) + "\n", encoding="utf-8")
    if progress is not None:
        progress(emitted, n_ads)
    return summary
