"""The synthetic world: reproducible, in the agreed file formats, consistent with its truth."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ownergraph.linking.prices import PriceTable
from ownergraph.loaders.us_states import STATES
from ownergraph.synth import WorldConfig, generate_world
from ownergraph.synth.obfuscate import PHONE_FORMS, render_email, render_phone

# Busy operations (the pre-calibration posting volume) so that a small world exercises
# the chain fully: wallets that pay many times need several inputs now and then.
SMALL = WorldConfig(days=12.0, operation_share=0.15, op_days_median=60.0, op_ads_per_day_median=6.0)
N_ADS = 900
AD_FIELDS = {
    "id": str,
    "site": str,
    "url": str,
    "posted_at": str,
    "title": str,
    "body": str,
    "city": str,
    "state": str,
    "category": str,
    "age": int,
    "post_kind": str,
    "sponsored": bool,
    "n_locations": int,
}
VALUE_TEXT = re.compile(r'"value":(-?\d+(?:\.\d+)?)')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(out, N_ADS, seed=11, config=SMALL)
    return out


@pytest.fixture(scope="module")
def blocks(world: Path) -> list[dict]:
    lines = (world / "bitcoin" / "blocks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line, parse_float=Decimal) for line in lines]


@pytest.fixture(scope="module")
def outputs(blocks: list[dict]) -> dict[tuple[str, int], tuple[str | None, int]]:
    out = {}
    for b in blocks:
        for tx in b["tx"]:
            for o in tx["vout"]:
                out[(tx["txid"], o["n"])] = (o["scriptPubKey"].get("address"), _sat(o["value"]))
    return out


def _sat(value: Decimal) -> int:
    sat = value * 100_000_000
    assert sat == sat.to_integral_value(), f"{value} has more than 8 decimals"
    return int(sat)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path, world: Path) -> None:
    again = tmp_path / "again"
    generate_world(again, N_ADS, seed=11, config=SMALL)
    first, second = _digest(world), _digest(again)
    assert len(first) == 12
    assert first == second


def test_other_seed_gives_other_world(tmp_path: Path, world: Path) -> None:
    other = tmp_path / "other"
    generate_world(other, 200, seed=12, config=SMALL)
    a = (world / "ads.jsonl").read_text(encoding="utf-8").splitlines()[:50]
    b = (other / "ads.jsonl").read_text(encoding="utf-8").splitlines()[:50]
    assert not set(a) & set(b)


def test_ads_jsonl_fields_and_types(world: Path) -> None:
    ads = [json.loads(line) for line in (world / "ads.jsonl").open(encoding="utf-8")]
    assert len(ads) == N_ADS
    assert len({a["id"] for a in ads}) == N_ADS
    prev = None
    for a in ads:
        assert set(a) == set(AD_FIELDS), a["id"]
        for k, typ in AD_FIELDS.items():
            assert type(a[k]) is typ, (a["id"], k, a[k])
        ts = datetime.fromisoformat(a["posted_at"])
        assert ts.utcoffset() is not None, a["posted_at"]
        assert re.search(r"[+-]\d\d:\d\d$", a["posted_at"])
        assert prev is None or ts.timestamp() >= prev  # scraped in time order
        prev = ts.timestamp()
        assert a["state"] in STATES
        assert a["post_kind"] in ("post", "bump", "repost")
        assert a["n_locations"] >= 1
        assert 18 <= a["age"] <= 45
        assert a["category"] in ("escorts", "body rubs", "women seeking men", "adult jobs")
        assert a["url"].startswith("http://") and a["url"].endswith("/" + a["id"])
        assert a["title"] and a["body"]


def test_blocks_have_getblock2_shape(blocks: list[dict]) -> None:
    assert len(blocks) > 50
    for prev, b in zip(blocks, blocks[1:], strict=False):
        assert b["height"] == prev["height"] + 1
        assert b["previousblockhash"] == prev["hash"]
        assert prev["nextblockhash"] == b["hash"]
        assert b["time"] > prev["time"]
    assert "nextblockhash" not in blocks[-1]
    for b in blocks:
        assert {"hash", "height", "time", "tx", "nTx", "previousblockhash"} <= set(b)
        assert b["nTx"] == len(b["tx"])
        assert "coinbase" in b["tx"][0]["vin"][0]
        for tx in b["tx"]:
            assert re.fullmatch(r"[0-9a-f]{64}", tx["txid"])
            for v in tx["vin"]:
                if "coinbase" not in v:
                    assert {"txid", "vout", "scriptSig", "sequence"} <= set(v)
                    assert {"asm", "hex"} <= set(v["scriptSig"])
            for n, o in enumerate(tx["vout"]):
                assert o["n"] == n
                assert isinstance(o["value"], Decimal)
                spk = o["scriptPubKey"]
                assert spk["type"] in ("pubkeyhash", "scripthash", "nulldata")
                assert ("address" in spk) == (spk["type"] != "nulldata")


def test_amounts_are_written_with_exactly_eight_decimals(world: Path) -> None:
    with (world / "bitcoin" / "blocks.jsonl").open(encoding="utf-8") as f:
        line = next(f) + next(f)
    values = VALUE_TEXT.findall(line)
    assert values
    assert all(re.fullmatch(r"\d+\.\d{8}", v) for v in values), values[:5]


def test_every_input_spends_an_earlier_unspent_output_and_sums_balance(
    blocks: list[dict],
) -> None:
    seen: dict[tuple[str, int], int] = {}
    spent: set[tuple[str, int]] = set()
    n_inputs = 0
    for b in blocks:
        for tx in b["tx"]:
            sat_in = 0
            for v in tx["vin"]:
                if "coinbase" in v:
                    continue
                key = (v["txid"], v["vout"])
                assert key in seen, f"{tx['txid']} spends unknown or later output {key}"
                assert key not in spent, f"{key} spent twice"
                spent.add(key)
                sat_in += seen[key]
                n_inputs += 1
            sat_out = 0
            for o in tx["vout"]:
                sat = _sat(o["value"])
                seen[(tx["txid"], o["n"])] = sat
                sat_out += sat
            if "coinbase" not in tx["vin"][0]:
                fee = sat_in - sat_out
                assert fee >= 0, tx["txid"]
                assert _sat(tx["fee"]) == fee
    assert n_inputs > 100


def test_mempool_first_seen_precedes_the_block(world: Path, blocks: list[dict]) -> None:
    block_time = {tx["txid"]: b["time"] for b in blocks for tx in b["tx"]}
    fs = pd.read_csv(world / "bitcoin" / "mempool_first_seen.csv", dtype={"txid": str})
    assert list(fs.columns) == ["txid", "first_seen"]
    assert fs["first_seen"].dtype.kind == "i"
    assert fs["txid"].is_unique
    assert fs["txid"].isin(block_time).all()
    assert (fs["first_seen"] < fs["txid"].map(block_time)).all()


def test_rates_cover_the_world_within_bounds(world: Path) -> None:
    r = pd.read_csv(world / "rates.csv")
    assert list(r.columns) == ["time", "usd_per_btc"]
    assert r["time"].is_monotonic_increasing and r["time"].is_unique
    cfg = WorldConfig()
    assert r["usd_per_btc"].between(cfg.btc_usd_low, cfg.btc_usd_high).all()
    ads = pd.read_csv(world / "truth" / "ads.csv")
    assert r["time"].min() < ads["posted_ts"].min() and r["time"].max() > ads["posted_ts"].max()


def test_prices_json_is_the_table_used(world: Path) -> None:
    table = PriceTable.from_json(world / "prices.json")
    assert table.cost_usd("CA", "escorts", "post") == PriceTable().cost_usd("CA", "escorts")


def test_truth_covers_every_ad(world: Path) -> None:
    ads = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str})
    truth = pd.read_csv(world / "truth" / "ads.csv", dtype={"ad_id": str})
    assert {"ad_id", "owner_id", "author_id", "person_id", "paid_btc"} <= set(truth.columns)
    assert list(truth["ad_id"]) == list(ads["id"])
    assert truth["owner_id"].notna().all() and truth["author_id"].notna().all()
    owners = pd.read_csv(world / "truth" / "owners.csv")
    assert set(owners["owner_id"]) == set(truth["owner_id"])
    assert owners["n_ads"].sum() == len(truth)
    assert set(owners["kind"]) == {"independent", "operation"}
    ops = owners[owners["kind"] == "operation"]
    assert (ops["n_people"] >= 2).all()
    assert (owners.loc[owners["kind"] == "independent", "n_people"] == 1).all()
    # authors belong to one owner; an owner's ads are posted as its own people
    assert truth.groupby("author_id")["owner_id"].nunique().max() == 1
    assert truth.groupby("person_id")["owner_id"].nunique().max() == 1
    # an independent's persona (author) advertises one name; a persona change is a new
    # author with another name under the same person
    ind = truth[truth["owner_kind"] == "independent"]
    assert (ind.groupby("author_id")["name"].nunique() == 1).all()
    assert (ind.groupby("person_id")["author_id"].nunique() <= 2).all()


def test_names_are_in_the_truth_and_text_not_in_a_field(world: Path, tmp_path: Path) -> None:
    """Real dumps carry no structured name: by default no ad has one; the truth has it."""
    ads = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str})
    truth = pd.read_csv(world / "truth" / "ads.csv", dtype=str, keep_default_na=False)
    assert "name" not in ads.columns
    assert (truth["name"] != "").all()
    text = (ads["title"] + " " + ads["body"]).str.lower().to_numpy()
    first = truth["name"].str.split().str[0].str.lower().to_numpy()
    assert np.mean([f in t for f, t in zip(first, text, strict=True)]) > 0.5
    generate_world(tmp_path, 50, seed=3, config=replace(SMALL, name_field_share=1.0))
    named = pd.read_json(tmp_path / "ads.jsonl", lines=True, dtype={"id": str})
    t2 = pd.read_csv(tmp_path / "truth" / "ads.csv", dtype=str, keep_default_na=False)
    assert list(named["name"]) == list(t2["name"])


def test_truth_contacts_appear_in_the_text(world: Path) -> None:
    ads = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str})
    truth = pd.read_csv(world / "truth" / "ads.csv", dtype=str, keep_default_na=False)
    text = (ads["title"] + " " + ads["body"]).to_numpy()
    has_phone = truth["phones"] != ""
    assert 0.8 < has_phone.mean() < 0.99  # some ads carry no phone at all
    for i in np.flatnonzero((truth["emails"] != "").to_numpy())[:50]:
        local = truth["emails"].iat[i].split("@")[0]
        assert local in text[i], (truth["ad_id"].iat[i], local)
    # operations rotate phones; independents use one or two
    per_owner = truth[has_phone].assign(p=truth["phones"].str.split(";")).explode("p")
    per_owner = per_owner[per_owner["p"] != per_owner["shared_phones"]]  # not their own
    n_phones = per_owner.groupby("owner_id")["p"].nunique()
    kinds = truth.drop_duplicates("owner_id").set_index("owner_id")["owner_kind"]
    assert n_phones[kinds.reindex(n_phones.index) == "independent"].max() <= 2
    assert n_phones[kinds.reindex(n_phones.index) == "operation"].median() >= 3


def test_shared_lines_are_the_only_phones_of_several_owners(tmp_path: Path) -> None:
    """Booking/agency lines join unrelated owners; the truth names every such phone."""
    generate_world(tmp_path, 400, seed=5, config=WorldConfig(days=12.0, shared_line_share=0.5))
    truth = pd.read_csv(tmp_path / "truth" / "ads.csv", dtype=str, keep_default_na=False)
    pairs = truth.assign(p=truth["phones"].str.split(";")).explode("p")
    pairs = pairs[pairs["p"] != ""]
    owners_per_phone = pairs.groupby("p")["owner_id"].nunique()
    shared = set(truth.loc[truth["shared_phones"] != "", "shared_phones"])
    assert set(owners_per_phone[owners_per_phone > 1].index) <= shared
    assert (owners_per_phone[sorted(shared)] > 1).any()
    listed = zip(truth["shared_phones"], truth["phones"], strict=True)
    assert all(s in p.split(";") for s, p in listed if s)


def test_operations_travel_and_post_more(world: Path) -> None:
    owners = pd.read_csv(world / "truth" / "owners.csv")
    ops = owners[owners["kind"] == "operation"]
    ind = owners[owners["kind"] == "independent"]
    assert len(ops) >= 3
    assert ops["n_states"].max() >= 3
    assert (ind["n_states"] == 1).mean() > 0.9
    rate = owners["n_ads"] / ((owners["last_ts"] - owners["first_ts"]) / 86400 + 1)
    assert rate[ops.index].median() > 2 * rate[ind.index].median()


def test_payments_pay_processors_the_usd_price(world: Path, blocks: list[dict]) -> None:
    pays = pd.read_csv(world / "truth" / "payments.csv", dtype={"txid": str, "ad_id": str})
    assert len(pays) > 10
    procs = set((world / "bitcoin" / "processor_addresses.txt").read_text().split())
    txs = {tx["txid"]: tx for b in blocks for tx in b["tx"]}
    rates = pd.read_csv(world / "rates.csv")
    ads = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str}).set_index("id")
    truth = pd.read_csv(world / "truth" / "ads.csv", dtype={"ad_id": str}).set_index("ad_id")
    table = PriceTable.from_json(world / "prices.json")
    cfg = WorldConfig()
    for p in pays.itertuples():
        tx = txs[p.txid]
        paid = [_sat(o["value"]) for o in tx["vout"] if o["scriptPubKey"].get("address") in procs]
        assert len(paid) == 1, p.txid
        i = int(np.searchsorted(rates["time"].to_numpy(), p.first_seen, side="right")) - 1
        usd_at_first_seen = paid[0] / 1e8 * rates["usd_per_btc"].iat[i]
        ad = ads.loc[p.ad_id]
        price = table.cost_usd(
            ad["state"], ad["category"], ad["post_kind"], ad["sponsored"], ad["n_locations"]
        )
        assert price == pytest.approx(p.usd)
        assert abs(usd_at_first_seen - price) / price < 0.02, (p.txid, usd_at_first_seen, price)
        lag = truth.loc[p.ad_id, "posted_ts"] - p.first_seen
        assert cfg.lag_min_s <= lag <= cfg.lag_max_s
        assert lag == p.lag_s
    assert set(pays["ad_id"]) == set(truth.index[truth["paid_btc"]])


def test_addresses_truth_covers_the_chain(world: Path, outputs: dict) -> None:
    addrs = pd.read_csv(world / "truth" / "addresses.csv", dtype=str, keep_default_na=False)
    assert addrs["address"].is_unique
    on_chain = {a for a, _ in outputs.values() if a}
    assert on_chain <= set(addrs["address"])
    owner_rows = addrs[addrs["wallet_id"] != ""]
    assert (owner_rows["owner_id"] != "").all()
    assert (addrs.loc[addrs["role"] == "processor_invoice", "wallet_id"] == "").all()
    procs = set((world / "bitcoin" / "processor_addresses.txt").read_text().split())
    assert procs == set(addrs.loc[addrs["role"] == "processor_invoice", "address"])


def test_transaction_kinds_in_truth(world: Path, blocks: list[dict], outputs: dict) -> None:
    kinds = pd.read_csv(world / "truth" / "txs.csv", dtype={"txid": str})
    txs = {tx["txid"]: tx for b in blocks for tx in b["tx"]}
    assert set(kinds["txid"]) == set(txs)
    by_kind = kinds.groupby("kind")["txid"].apply(list)
    assert {"payment", "funding", "sweep", "noise", "coinbase"} <= set(by_kind.index)
    procs = set((world / "bitcoin" / "processor_addresses.txt").read_text().split())
    for txid in by_kind["sweep"]:  # a sweep consolidates processor coins into one output
        tx = txs[txid]
        assert len(tx["vout"]) == 1
        assert all(outputs[(v["txid"], v["vout"])][0] in procs for v in tx["vin"])
    multi = [t for t in by_kind["payment"] if len(txs[t]["vin"]) > 1]
    assert multi, "some payments need several inputs"


def test_coinjoin_has_many_equal_outputs(tmp_path: Path) -> None:
    cfg = WorldConfig(days=6.0, coinjoin_per_1k_payments=200.0, op_btc_owner_share=1.0)
    generate_world(tmp_path, 400, seed=5, config=cfg)
    kinds = pd.read_csv(tmp_path / "truth" / "txs.csv", dtype={"txid": str})
    cj = set(kinds.loc[kinds["kind"] == "coinjoin", "txid"])
    assert cj
    found = 0
    for line in (tmp_path / "bitcoin" / "blocks.jsonl").open(encoding="utf-8"):
        for tx in json.loads(line, parse_float=Decimal)["tx"]:
            if tx["txid"] in cj:
                values = pd.Series([o["value"] for o in tx["vout"]])
                assert values.value_counts().iloc[0] >= 4
                assert len(tx["vin"]) >= 4
                found += 1
    assert found == len(cj)


def test_config_rejects_unknown_and_out_of_range_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown world config keys"):
        WorldConfig.from_dict({"operations": 0.5})
    with pytest.raises(ValueError, match="operation_share"):
        WorldConfig.from_dict({"operation_share": 1.5})
    with pytest.raises(ValueError, match="n_ads"):
        generate_world(tmp_path, 0)
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"days": 3.0}))
    assert WorldConfig.from_json(path).days == 3.0


@pytest.mark.parametrize("form", sorted(PHONE_FORMS))
def test_phone_forms_keep_the_digits(form: str) -> None:
    from random import Random

    text = render_phone("7026051961", form, Random(1), sep="~", emoji="💋")
    assert text
    if form in ("dash", "paren", "dot", "plain", "space", "star", "sep", "emoji", "spaced"):
        assert re.sub(r"\D", "", text) == "7026051961"
    if form in ("words", "fullwidth", "circled", "bold", "neg_circled"):
        assert not re.search(r"[0-9]{3}", text)


def test_phone_and_email_renderings() -> None:
    from random import Random

    assert render_phone("7026051961", "dash", Random(0)) == "702-605-1961"
    assert render_phone("7026051961", "circled", Random(0)) == "⑦⓪② ⑥⓪⑤ ①⑨⑥①"
    words = render_phone("2025550100", "words", Random(0))
    assert words.split()[:3] == ["two", "zero", "two"] or "oh" in words
    assert render_email("kandy22@gmail.com", "paren") == "kandy22 (at) gmail (dot) com"
    with pytest.raises(ValueError, match="10 national digits"):
        render_phone("12345", "dash", Random(0))
