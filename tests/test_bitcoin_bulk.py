"""The bulk chain-load path changes speed, not results.

- Parsing: the bulk parser in one process (which skips hashing the public keys of inputs
  that spend outputs already parsed), in worker processes, and the ``embit`` reference
  give the same tables, on a synthetic chain in ``blk`` format and on the real blocks.
- Writing: a whole-table first load (LadybugDB ``COPY`` into empty tables, Neo4j
  ``CREATE``) gives the same nodes, edges and properties as the general upsert path
  (small batches, so all but the first go through key lookups / ``MERGE``), on both
  stores.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from ownergraph.loaders.bitcoin import BitcoinTables, load_bitcoin
from ownergraph.stages.bitcoin import write_bitcoin
from ownergraph.store.base import Store, StoreError

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("txs", "inputs", "outputs")


def _write_chain(path: Path, n_blocks: int, txs_per_block: int) -> int:
    spec = importlib.util.spec_from_file_location(
        "synth_raw_chain", ROOT / "benchmarks" / "synth_raw_chain.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_chain(path, n_blocks, txs_per_block)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "blk00000.dat"
    _write_chain(path, 3, 120)
    return path


def _same_tables(a: BitcoinTables, b: BitcoinTables) -> None:
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=name)
    assert a.summary.as_dict() == b.summary.as_dict()


def _parses_alike(path: Path) -> BitcoinTables:
    one = load_bitcoin([path], verify_merkle=False, workers=1)
    _same_tables(one, load_bitcoin([path], verify_merkle=False, workers=2))
    _same_tables(one, load_bitcoin([path], verify_merkle=False, workers=1, parser="embit"))
    return one


def test_bulk_parser_equals_reference_on_a_chain(chain: Path) -> None:
    tables = _parses_alike(chain)
    # the chain spends its own outputs: those inputs are resolved, not hashed
    assert (tables.inputs["address_source"] == "prevout").sum() > 300
    assert tables.summary.inputs_unresolved == 0


def test_outpoint_memory_bound_changes_nothing(chain: Path, monkeypatch) -> None:
    """Past ``BTC_KNOWN_OUTPOINTS`` the parser hashes inputs again: same tables."""
    import ownergraph.loaders.bitcoin_raw as raw

    full = load_bitcoin([chain], verify_merkle=False, workers=1)
    monkeypatch.setattr(raw, "BTC_KNOWN_OUTPOINTS", 50)
    _same_tables(full, load_bitcoin([chain], verify_merkle=False, workers=1))


@pytest.mark.parametrize("name", ["block413567.raw", "block702861_segwit.raw"])
def test_bulk_parser_equals_reference_on_real_blocks(shared_data: Path, name: str) -> None:
    tables = _parses_alike(shared_data / "bitcoin" / name)
    # a lone block spends outputs from elsewhere: addresses come from the scripts
    assert tables.summary.inputs_from_script > 1000


def _dump(store: Store) -> dict[str, pd.DataFrame]:
    """Every Bitcoin node and edge with all its properties, in a canonical order."""
    out = {}
    for label in ("Tx", "Address"):
        node = store.schema.node(label)
        ret = ", ".join(f"n.{p} AS {p}" for p in node.prop_names)
        df = store.query_df(f"MATCH (n:{label}) RETURN {ret}")
        out[label] = df.sort_values(node.key).reset_index(drop=True)
    for rel_type in ("SPENT_IN", "PAYS"):
        rel = store.schema.rel(rel_type)
        src, dst = store.schema.node(rel.src), store.schema.node(rel.dst)
        ret = "".join(f", e.{p} AS {p}" for p in rel.prop_names)
        df = store.query_df(
            f"MATCH (a:{rel.src})-[e:{rel_type}]->(b:{rel.dst}) "
            f"RETURN a.{src.key} AS src, b.{dst.key} AS dst{ret}"
        )
        out[rel_type] = df.sort_values(["src", "dst"]).reset_index(drop=True)
    return out


def test_bulk_write_equals_the_upsert_path(store: Store, chain: Path) -> None:
    tables = load_bitcoin([chain], verify_merkle=False, workers=1)
    processors = [tables.outputs["address"].dropna().iloc[5]]
    write_bitcoin(store, tables, processors=processors)  # whole tables: COPY / CREATE
    bulk = _dump(store)
    for label in ("Tx", "Address"):
        store.delete_nodes(label)
    write_bitcoin(store, tables, batch_size=97, processors=processors)  # lookups / MERGE
    upsert = _dump(store)
    assert len(bulk["Tx"]) == len(tables.txs) and len(bulk["PAYS"]) > len(tables.txs)
    assert bulk["Address"]["processor"].sum() == 1
    for name, df in bulk.items():
        pd.testing.assert_frame_equal(df, upsert[name], obj=name)


def test_nodes_with_edges_name_a_missing_end(store: Store) -> None:
    """The one-pass first load (Neo4j: each Tx created with its edges) refuses an edge
    whose Address does not exist, naming it, as the upsert path does."""
    store.upsert_nodes("Address", [{"address": "1KnownAddress"}])
    txid = "ab" * 32
    edges = {
        "PAYS": [
            {"src": txid, "dst": "1KnownAddress", "sat": 5, "vout": 0},
            {"src": txid, "dst": "1MissingAddress", "sat": 6, "vout": 1},
        ],
        "SPENT_IN": [{"src": "1KnownAddress", "dst": txid, "sat": 20, "vin": 0, "n": 1}],
    }
    with pytest.raises(StoreError, match="1MissingAddress"):
        store.upsert_nodes_with_edges("Tx", [{"txid": txid, "n_inputs": 1}], edges)


def test_nodes_with_edges_write_every_edge(store: Store) -> None:
    store.upsert_nodes("Address", [{"address": a} for a in ("1A", "1B", "1C")])
    txs = [{"txid": f"{i:064x}", "n_inputs": 1} for i in range(3)]
    pays = [{"src": f"{i:064x}", "dst": a, "sat": i, "vout": 0} for i, a in enumerate("ABC")]
    pays = [dict(p, dst="1" + p["dst"]) for p in pays]
    spent = [{"src": "1A", "dst": f"{i:064x}", "sat": None, "vin": 0, "n": 2} for i in (1, 2)]
    n = store.upsert_nodes_with_edges("Tx", txs, {"SPENT_IN": spent, "PAYS": pays})
    assert n == {"Tx": 3, "SPENT_IN": 2, "PAYS": 3}
    rows = store.query(
        "MATCH (a:Address)-[e:SPENT_IN]->(t:Tx) RETURN a.address AS a, t.txid AS t, "
        "e.sat AS sat, e.n AS n ORDER BY t.txid"
    )
    assert rows == [{"a": "1A", "t": f"{i:064x}", "sat": None, "n": 2} for i in (1, 2)]
    paid = store.query(
        "MATCH (t:Tx)-[e:PAYS]->(a:Address) "
        "RETURN t.txid AS t, a.address AS a, e.sat AS s ORDER BY e.sat"
    )
    assert [(r["a"], r["s"]) for r in paid] == [("1A", 0), ("1B", 1), ("1C", 2)]
    assert [r["t"] for r in paid] == [f"{i:064x}" for i in range(3)]
