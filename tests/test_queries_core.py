"""The core named queries give the same answers on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownergraph.loaders.ads import load_ads
from ownergraph.queries.registry import QueryError, get_query, load_queries, run_named

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_ads.jsonl"


def test_every_query_has_a_header():
    qs = load_queries()
    assert {"ads_per_phone", "phones_in_several_states", "ads_sharing_identifier"} <= set(qs)
    for q in qs.values():
        assert q.description


def test_parameters_are_typed_and_checked():
    q = get_query("ads_per_phone")
    assert q.bind({"min_ads": "3"}) == {"min_ads": 3, "limit": 50}
    with pytest.raises(QueryError, match="not int"):
        q.bind({"min_ads": "many"})
    with pytest.raises(QueryError, match="unknown parameters"):
        q.bind({"nope": 1})
    with pytest.raises(QueryError, match="required"):
        get_query("ads_sharing_identifier").bind({})


def test_core_queries_on_the_sample(store):
    load_ads(store, SAMPLE)
    several = run_named(store, "phones_in_several_states", {"min_states": 2})
    assert several[0] == {"phone": "+17025550147", "n_states": 3, "ads": 5}
    sharing = run_named(store, "ads_sharing_identifier", {"ad_id": "s4"})
    assert {(r["ad"], r["via"]) for r in sharing} == {
        ("s1", "phone"),
        ("s2", "phone"),
        ("s3", "phone"),
        ("s12", "phone"),
        ("s5", "email"),
    }


def test_a_parameter_containing_cypher_is_data(store):
    load_ads(store, SAMPLE)
    before = store.counts()
    rows = run_named(store, "ads_sharing_identifier", {"ad_id": "s1'}) DETACH DELETE a //"})
    assert rows == []
    assert store.counts() == before
