"""The store interface on both real engines: schema, idempotent upserts, read-only reads."""

from __future__ import annotations

import pytest

from ownergraph.store.base import StoreError, keyed_path
from ownergraph.store.schema import SCHEMA


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def test_init_schema_twice_is_harmless(store):
    store.init_schema()
    store.init_schema()
    assert set(store.counts()) == {n.label for n in SCHEMA.nodes} | {r.type for r in SCHEMA.rels}


def test_upsert_nodes_merges_keys_and_updates_given_columns_only(store):
    store.upsert_nodes(
        "Ad",
        [
            {"id": "a1", "posted_ts": 100, "title": "t1", "state": "NV"},
            {"id": "a2", "posted_ts": 200},
        ],
    )
    store.upsert_nodes("Ad", [{"id": "a1", "title": "changed"}, {"id": "a3"}])
    rows = store.query(
        "MATCH (a:Ad) RETURN a.id AS id, a.title AS title, a.posted_ts AS ts, "
        "a.state AS state ORDER BY id"
    )
    assert rows == [
        {"id": "a1", "title": "changed", "ts": 100, "state": "NV"},
        {"id": "a2", "title": None, "ts": 200, "state": None},
        {"id": "a3", "title": None, "ts": None, "state": None},
    ]


def test_duplicate_keys_in_one_batch_keep_the_last_row(store):
    store.upsert_nodes(
        "Phone", [{"number": "+1", "region": "US"}, {"number": "+1", "region": "CA"}]
    )
    assert store.query("MATCH (p:Phone) RETURN p.region AS r") == [{"r": "CA"}]


def test_upsert_edges_is_idempotent_and_updates_properties(store):
    store.upsert_nodes("Ad", [{"id": "a1"}, {"id": "a2"}])
    store.upsert_nodes("Phone", [{"number": "+17025550147"}])
    edges = [
        {"src": "a1", "dst": "+17025550147", "method": "plain", "confidence": 1.0},
        {"src": "a2", "dst": "+17025550147", "method": "words", "confidence": 0.8},
    ]
    store.upsert_edges("HAS_PHONE", edges)
    store.upsert_edges("HAS_PHONE", edges)
    store.upsert_edges(
        "HAS_PHONE", [{"src": "a2", "dst": "+17025550147", "method": "words", "confidence": 0.9}]
    )
    assert nonzero(store.counts()) == {"Ad": 2, "Phone": 1, "HAS_PHONE": 2}
    rows = store.query(
        "MATCH (a:Ad)-[e:HAS_PHONE]->(:Phone) RETURN a.id AS id, e.confidence AS c ORDER BY id"
    )
    assert rows == [{"id": "a1", "c": 1.0}, {"id": "a2", "c": 0.9}]


def test_edges_to_missing_nodes_are_an_error_naming_the_keys(store):
    store.upsert_nodes("Phone", [{"number": "+1"}])
    with pytest.raises(StoreError, match="src keys have no Ad node"):
        store.upsert_edges("HAS_PHONE", [{"src": "nope", "dst": "+1"}])


def test_unknown_property_is_an_error_not_a_silent_drop(store):
    with pytest.raises(StoreError, match="not in the schema"):
        store.upsert_nodes("Ad", [{"id": "a1", "colour": "red"}])


def test_wrong_type_is_an_error(store):
    with pytest.raises(StoreError, match="posted_ts"):
        store.upsert_nodes("Ad", [{"id": "a1", "posted_ts": "yesterday"}])


def test_reads_are_read_only_unless_write(store):
    with pytest.raises(StoreError):
        store.query("CREATE (:Phone {number: 'x'})")
    assert store.counts()["Phone"] == 0
    store.query("CREATE (:Phone {number: 'x'})", write=True)
    assert store.counts()["Phone"] == 1


def test_parameter_values_are_data_not_cypher(store):
    evil = "x'}) DETACH DELETE n //"
    store.upsert_nodes("Phone", [{"number": "+1"}])
    rows = store.query("MATCH (p:Phone {number: $n}) RETURN p.number AS n", {"n": evil})
    assert rows == []
    store.upsert_nodes("Phone", [{"number": evil}])
    assert store.query("MATCH (p:Phone {number: $n}) RETURN p.number AS n", {"n": evil}) == [
        {"n": evil}
    ]
    assert store.counts()["Phone"] == 2


def _small_chain(store) -> None:
    store.upsert_nodes("Tx", [{"txid": t} for t in ("t1", "t2", "t3")])
    store.upsert_nodes("Address", [{"address": a} for a in ("x", "y", "z")])
    store.upsert_edges(
        "SPENT_IN",
        [
            {"src": "x", "dst": "t1", "sat": 5, "vin": 0, "n": 1},
            {"src": "y", "dst": "t1", "sat": 7, "vin": 1, "n": 1},
            {"src": "y", "dst": "t2", "sat": 9, "vin": 0, "n": 1},
        ],
    )


def test_keyed_path_reads_the_rows_of_the_one_pattern_form(store):
    """Keys with paths, a key with none (t3) and an unknown key (t9): the same rows as
    ``MATCH (a)-[e]->(t {txid: k})``, with WHERE and aggregation inside."""
    _small_chain(store)
    ids = ["t1", "t2", "t3", "t9"]
    ret = "RETURN t.txid AS tx, a.address AS addr, e.sat AS sat ORDER BY tx, addr"
    one = "UNWIND $ids AS k MATCH (a:Address)-[e:SPENT_IN]->(t:Tx {txid: k}) "
    keyed = keyed_path("(t:Tx {txid: k})", "(a:Address)-[e:SPENT_IN]->(t)", ret, bound="e")
    rows = store.query(keyed, {"ids": ids})
    assert rows == store.query(one + ret, {"ids": ids})
    assert [r["sat"] for r in rows] == [5, 7, 9]
    where = keyed_path(
        "(t:Tx {txid: k})", "(a:Address)-[e:SPENT_IN]->(t) WHERE e.sat > 6", ret, bound="e"
    )
    assert [r["sat"] for r in store.query(where, {"ids": ids})] == [7, 9]
    count = keyed_path(
        "(a:Address {address: k})",
        "(a)-[:SPENT_IN]->(t:Tx)",
        "RETURN a.address AS addr, count(DISTINCT t.txid) AS n ORDER BY addr",
        bound="t",
    )
    assert store.query(count, {"ids": ["x", "y", "z"]}) == [
        {"addr": "x", "n": 1},
        {"addr": "y", "n": 2},
    ]


def test_keyed_deletes_touch_only_the_given_edges(store):
    """``delete_edges_from`` and an edge rewritten with new values (delete + write) leave
    every other edge as it was."""
    _small_chain(store)
    store.upsert_edges("SPENT_IN", [{"src": "y", "dst": "t1", "sat": 8, "vin": 1, "n": 1}])
    read = "MATCH (a:Address)-[e:SPENT_IN]->(t:Tx) RETURN a.address AS a, t.txid AS t, e.sat AS s"
    assert sorted(tuple(r.values()) for r in store.query(read)) == [
        ("x", "t1", 5), ("y", "t1", 8), ("y", "t2", 9)
    ]  # fmt: skip
    store.delete_edges_from("SPENT_IN", ["y", "z"])
    assert [tuple(r.values()) for r in store.query(read)] == [("x", "t1", 5)]


def test_delete_edges_and_nodes(store):
    store.upsert_nodes("Ad", [{"id": "a1"}])
    store.upsert_nodes("Owner", [{"id": "o1", "score": 1.5}])
    store.upsert_edges("BELONGS_TO", [{"src": "a1", "dst": "o1", "method": "t", "confidence": 1}])
    store.delete_edges("BELONGS_TO")
    assert store.counts()["BELONGS_TO"] == 0
    store.upsert_edges("BELONGS_TO", [{"src": "a1", "dst": "o1", "method": "t", "confidence": 1}])
    store.delete_nodes("Owner")
    assert nonzero(store.counts()) == {"Ad": 1}


def test_release_memory_keeps_the_data_and_the_store_usable(store):
    """The authors stage gives back the embedded engine's page cache (it closes and
    reopens the database) between reading the ads and writing Author nodes."""
    store.upsert_nodes("Ad", [{"id": "a1", "title": "t1"}, {"id": "a2"}])
    store.release_memory()
    assert store.query("MATCH (a:Ad) RETURN a.id AS id, a.title AS t ORDER BY id") == [
        {"id": "a1", "t": "t1"},
        {"id": "a2", "t": None},
    ]
    store.upsert_nodes("Author", [{"id": "u1"}])
    store.upsert_edges("WRITTEN_BY", [{"src": "a1", "dst": "u1"}])
    assert nonzero(store.counts()) == {"Ad": 2, "Author": 1, "WRITTEN_BY": 1}


def test_clear_empties_the_store_and_keeps_the_schema(store):
    store.upsert_nodes("Ad", [{"id": "a1"}])
    store.upsert_nodes("Owner", [{"id": "o1", "score": 1.5}])
    store.upsert_edges("BELONGS_TO", [{"src": "a1", "dst": "o1", "method": "t", "confidence": 1}])
    store.clear()
    assert nonzero(store.counts()) == {}
    store.upsert_nodes("Ad", [{"id": "a2"}])  # the schema is still there
    assert nonzero(store.counts()) == {"Ad": 1}


def test_sums_and_counts_are_plain_numbers_on_both_engines(store):
    # LadybugDB gives sum() over INT64 as Decimal; the store hands back an int, as Neo4j does
    store.upsert_nodes("Ad", [{"id": "a1", "age": 20}, {"id": "a2", "age": 31}])
    [row] = store.query("MATCH (a:Ad) RETURN sum(a.age) AS s, count(a) AS n, sum(a.age * 1.0) AS f")
    assert row == {"s": 51, "n": 2, "f": 51.0}
    assert type(row["s"]) is int and type(row["n"]) is int and type(row["f"]) is float


def test_remove_store_deletes_an_embedded_store_and_its_wal(tmp_path):
    from ownergraph.store.base import open_store, remove_store

    path = tmp_path / "g.lbug"
    with open_store(str(path)) as s:
        s.init_schema()
        s.upsert_nodes("Ad", [{"id": "a1"}])
    (tmp_path / "g.lbug.wal").write_bytes(b"")  # as a crash would leave it
    remove_store(path)
    assert list(tmp_path.iterdir()) == []
    remove_store(path)  # a missing store is fine
    with open_store(str(path)) as s:  # and a new one starts empty
        s.init_schema()
        assert nonzero(s.counts()) == {}


def test_capabilities_say_which_engine_may_run_gds(store):
    assert ("gds" in store.capabilities) == (store.dialect == "neo4j")


def test_query_df(store):
    store.upsert_nodes("Ad", [{"id": "a1", "age": 20}, {"id": "a2", "age": 30}])
    df = store.query_df("MATCH (a:Ad) RETURN a.id AS id, a.age AS age ORDER BY id")
    assert list(df["age"]) == [20, 30]


def test_return_lists_come_from_the_schema():
    ad = SCHEMA.node("Ad")
    assert ad.returns(("id", "posted_ts"), "a") == "a.id AS id, a.posted_ts AS posted_ts"
    assert ad.returns(var="a").count(" AS ") == len(ad.prop_names)
    with pytest.raises(KeyError, match="Ad has no property 'colour'"):
        ad.returns(("id", "colour"))


def test_nested_bulk_blocks_keep_writes_and_checkpoint_once_at_the_outermost(embedded_store):
    """An incremental stage runs in ``bulk()`` and the bitcoin writes inside it open one
    more: the inner block must not turn LadybugDB's automatic checkpoint back on."""

    def auto() -> bool:
        rows = embedded_store._conn.execute("CALL current_setting('auto_checkpoint') RETURN *")
        return str(rows.get_all()[0][0]).lower() == "true"

    embedded_store.init_schema()
    assert auto()
    with embedded_store.bulk():
        with embedded_store.bulk():
            embedded_store.upsert_nodes("Phone", [{"number": "+17025550104"}])
            assert not auto()
        assert not auto()  # still off: the outer block is open
        embedded_store.upsert_nodes("Phone", [{"number": "+17025550105"}])
    assert auto()
    assert embedded_store.keys("Phone") == {"+17025550104", "+17025550105"}
