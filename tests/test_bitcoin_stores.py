"""`btc load`, `btc cluster`, `btc link` through the CLI on both stores: same graph, right links."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.linking.payments import DEFAULT_BLOCK_SLACK_S, PaymentMatcher, payments_from_tables
from ownergraph.store.base import open_store
from ownergraph.synth.tables import read_world_tables


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from ownergraph.synth.config import WorldConfig
    from ownergraph.synth.world import generate_world

    out = tmp_path_factory.mktemp("btcworld")
    # a short, dense world: few transactions to load, but sweeps and payments to link
    generate_world(out, n_ads=300, seed=5, config=WorldConfig(days=6.0))  # 28 payments
    return out


def expected_links(world: Path) -> set[tuple[str, str]]:
    """The matcher on the loaders' DataFrames (no store involved)."""
    w = read_world_tables(world)
    t = w.bitcoin
    pay = payments_from_tables(t.outputs, t.txs, w.processors, t.inputs)
    m = PaymentMatcher(price_table=w.prices, block_slack_s=DEFAULT_BLOCK_SLACK_S)  # btc link's
    links = m.match(w.ads, pay, w.rates)
    return set(zip(links["ad_id"], links["txid"], strict=True))


def run_all(world: Path, store: str, tmp: Path) -> dict:
    runner = CliRunner()
    bitcoin = world / "bitcoin"
    steps = [
        ["load", "ads", str(world / "ads.jsonl"), "--quarantine", str(tmp / "q-ads.jsonl")],
        ["btc", "load", str(bitcoin / "blocks.jsonl"), "--rates", str(world / "rates.csv"),
         "--mempool", str(bitcoin / "mempool_first_seen.csv"),
         "--processors", str(bitcoin / "processor_addresses.txt"),
         "--quarantine", str(tmp / "q-btc.jsonl")],
        ["btc", "cluster", "--change"],
        ["btc", "link", "--rates", str(world / "rates.csv"), "--prices",
         str(world / "prices.json")],
    ]  # fmt: skip
    for args in steps:
        res = runner.invoke(app, [*args, "--store", store])
        assert res.exit_code == 0, (args, res.output)
    with open_store(store) as s:
        paid = s.query(
            "MATCH (t:Tx)-[e:PAID_FOR]->(a:Ad) RETURN a.id AS ad, t.txid AS tx, "
            "e.ambiguous AS amb, e.confidence AS c, e.method AS m"
        )
        wallets = s.query(
            "MATCH (a:Address)-[r:IN_WALLET]->(w:Wallet) RETURN a.address AS a, w.id AS w, "
            "r.method AS m"
        )
        counts = {
            k: s.query(f"MATCH (n:{k}) RETURN count(n) AS c")[0]["c"]
            for k in ("Ad", "Tx", "Address", "Wallet")
        }
    return {
        "paid": {(r["ad"], r["tx"]): (r["amb"], round(r["c"], 9), r["m"]) for r in paid},
        "wallets": {r["a"]: (r["w"], r["m"]) for r in wallets},
        "counts": counts,
    }


def test_load_cluster_link_on_both_stores(world, tmp_path, neo4j_store, neo4j_uri):
    embedded = run_all(world, str(tmp_path / "g.lbug"), tmp_path)
    neo = run_all(world, neo4j_uri, tmp_path)
    assert embedded["counts"] == neo["counts"]
    assert embedded["counts"]["Wallet"] > 0
    assert embedded["wallets"] == neo["wallets"]
    assert embedded["paid"] == neo["paid"]
    # the stores hold exactly the links the matcher finds on the loaders' tables
    assert set(embedded["paid"]) == expected_links(world)
    truth = pd.read_csv(world / "truth/payments.csv", dtype=str)
    true = set(zip(truth["ad_id"], truth["txid"], strict=True))
    clear = {k for k, (amb, _, _) in embedded["paid"].items() if not amb}
    assert len(true) >= 20 and clear and len(clear & true) / len(clear) >= 0.95
