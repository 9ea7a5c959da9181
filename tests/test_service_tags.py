"""Service tags: TagPack YAML and CSV loading (every row loaded or quarantined), TAGGED
edges with provenance, and the services an owner group's wallets paid or received from,
on both stores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ownergraph.loaders.quarantine import Quarantine
from ownergraph.loaders.tags import TagError, read_tags
from ownergraph.stages.service_tags import owner_service_tags, write_tags

A, B, C = (f"1{c}" + "w" * 32 for c in "ABC")  # the group's wallet (A, B) and change C
EXCH, PROC, OTHER = "1Exch" + "e" * 29, "1Proc" + "p" * 29, "1Xthr" + "x" * 29
EXCH2 = "1Exc2" + "e" * 29  # untagged, in the exchange's wallet (cluster tag)
PACK = f"""title: Test Pack
creator: tests
currency: BTC
confidence: service_data
is_cluster_definer: true
category: exchange
tags:
- address: {EXCH}
  label: Example Exchange
  source: https://example.org/exch
  actor: example_exchange
- address: "0xFA8E3920daF271daB92Be9B87d9998DDd94FEF08"
  label: Not bitcoin
  currency: ETH
- address: 1NotAnAddress0OIl
  label: Bad
"""
CSV = f"""address,label,category,source,confidence
{PROC},Example Processor,payment_processor,case file 12,0.9
{OTHER},,service,x,0.5
{OTHER},Someone,service,x,1.5
"""


def test_tagpack_and_csv_rows_are_loaded_or_quarantined(tmp_path: Path):
    (tmp_path / "p.yaml").write_text(PACK)
    (tmp_path / "t.csv").write_text(CSV)
    q = Quarantine()
    tags = read_tags([tmp_path / "p.yaml", tmp_path / "t.csv"], q)
    assert list(tags["address"]) == [EXCH, PROC]
    exch = tags.iloc[0]
    assert exch["confidence"] == 0.5 and exch["confidence_level"] == "service_data"
    assert exch["category"] == "exchange" and bool(exch["cluster_definer"])
    assert tags.iloc[1]["confidence"] == 0.9 and not tags.iloc[1]["cluster_definer"]
    reasons = sorted(r for _, _, r in q.rejected)
    assert reasons == [
        "address is not a Bitcoin address",
        "confidence 1.5 is outside 0..1",
        "currency ETH is not BTC",
        "no label",
    ]
    (tmp_path / "bad.yaml").write_text("just: a mapping\n")
    with pytest.raises(TagError, match="no list of tags"):
        read_tags([tmp_path / "bad.yaml"])


def test_real_tagpacks(shared_data: Path):
    q = Quarantine()
    tags = read_tags(sorted((shared_data / "bitcoin" / "tagpacks").glob("*.yaml")), q)
    assert len(tags) + q.count == 513  # every tag loaded or quarantined
    assert q.count == 4 and all("is not BTC" in r for _, _, r in q.rejected)
    assert tags["source"].notna().all() and tags["confidence"].between(0, 1).all()


def build(store) -> None:
    """Owner O's ad paid by tx pay (A, B -> processor PROC + change C); the wallet also
    paid the exchange (EXCH), received from it, and paid EXCH2 (same exchange wallet)."""
    store.upsert_nodes("Owner", [{"id": "O"}])
    store.upsert_nodes("Ad", [{"id": "ad1"}])
    store.upsert_edges("BELONGS_TO", [{"src": "ad1", "dst": "O", "method": "t", "confidence": 1}])
    txs = ["pay", "dep", "wd", "dep2", "exw"]
    store.upsert_nodes("Tx", [{"txid": t, "first_seen_ts": 100 + i} for i, t in enumerate(txs)])
    addrs = [A, B, C, EXCH, EXCH2, PROC, OTHER]
    store.upsert_nodes("Address", [{"address": a} for a in addrs])
    store.upsert_edges("PAID_FOR", [{"src": "pay", "dst": "ad1", "method": "t", "confidence": 0.9}])
    spent = [("pay", A), ("pay", B), ("dep", A), ("dep2", B), ("wd", EXCH), ("exw", EXCH)]
    store.upsert_edges("SPENT_IN", [{"src": a, "dst": t, "sat": 1} for t, a in spent])
    pays = [("pay", PROC, 10), ("pay", C, 5), ("dep", EXCH, 20), ("wd", A, 7), ("dep2", EXCH2, 3)]
    pays += [("exw", EXCH2, 1)]
    store.upsert_edges("PAYS", [{"src": t, "dst": a, "sat": s} for t, a, s in pays])
    store.upsert_nodes("Wallet", [{"id": "w:A"}, {"id": "w:E"}])
    wallet = [(A, "w:A"), (B, "w:A"), (C, "w:A"), (EXCH, "w:E"), (EXCH2, "w:E")]
    store.upsert_edges(
        "IN_WALLET", [{"src": a, "dst": w, "method": "m", "confidence": 1} for a, w in wallet]
    )


def test_owner_service_tags_on_both_stores(store, tmp_path: Path):
    build(store)
    (tmp_path / "p.yaml").write_text(PACK)
    (tmp_path / "t.csv").write_text(CSV)
    tags = read_tags([tmp_path / "p.yaml", tmp_path / "t.csv"])
    written = write_tags(store, tags)
    assert written == {"Service": 2, "Address": 2, "TAGGED": 2}
    assert write_tags(store, tags) == written  # idempotent
    assert store.counts()["TAGGED"] == 2
    rows = owner_service_tags(store, "O")
    got = {(r["direction"], r["service"], r["via"]): r for r in rows}
    assert set(got) == {
        ("paid", "Example Processor", "address tag"),
        ("paid", "Example Exchange", "address tag"),
        ("received from", "Example Exchange", "address tag"),
        ("paid", "Example Exchange", "wallet of a tagged address"),
    }
    p = got[("paid", "Example Processor", "address tag")]
    assert (p["wallet"], p["source"], p["confidence"], p["txs"], p["sat"]) == (
        "w:A", "case file 12", 0.9, 1, 10,
    )  # fmt: skip
    e = got[("paid", "Example Exchange", "wallet of a tagged address")]
    assert (e["source"], e["confidence"], e["sat"]) == ("https://example.org/exch", 0.5, 3)
    r = got[("received from", "Example Exchange", "address tag")]
    assert (r["txs"], r["sat"]) == (1, 7)
    edge = store.query(
        "MATCH (a:Address)-[g:TAGGED]->(s:Service) WHERE a.address = $a "
        "RETURN g.method AS m, g.level AS lvl, s.id AS id",
        {"a": EXCH},
    )
    assert edge == [{"m": "tag:Test Pack", "lvl": "service_data", "id": "svc:example-exchange"}]
    assert owner_service_tags(store, "nobody") == []
    assert isinstance(pd.DataFrame(rows), pd.DataFrame)


def test_cli_btc_tags_and_owners_show(tmp_path: Path):
    from typer.testing import CliRunner

    from ownergraph.cli import app
    from ownergraph.store.embedded import EmbeddedStore

    path = tmp_path / "g.lbug"
    s = EmbeddedStore(path)
    s.init_schema()
    build(s)
    s.upsert_nodes("Owner", [{"id": "O", "score": 10.0, "ads": 1, "method": "test"}])
    s.close()
    (tmp_path / "p.yaml").write_text(PACK)
    runner = CliRunner()
    q = str(tmp_path / "q.jsonl")
    res = runner.invoke(app, ["btc", "tags", str(tmp_path / "p.yaml"), "--store", str(path),
                              "--quarantine", q])  # fmt: skip
    out = " ".join(res.output.split())
    assert res.exit_code == 0, out
    assert "3 / 1 / 2" in out and "currency ETH is not BTC" in out
    res = runner.invoke(app, ["owners", "show", "O", "--store", str(path), "--json"])
    assert res.exit_code == 0, res.output
    import json

    rows = json.loads(res.output)["service_tags"]
    assert {(r["direction"], r["via"]) for r in rows} == {
        ("paid", "address tag"),
        ("received from", "address tag"),
        ("paid", "wallet of a tagged address"),
    }
