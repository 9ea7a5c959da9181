"""One source for the lists: every column list that names Owner or Ad properties is
checked against ``ownergraph.store.schema.SCHEMA`` (the stages derive their RETURN
clauses from it; the pure layers, which may not import the store, are checked here)."""

from __future__ import annotations

from ownergraph import report, text_indicators
from ownergraph.owners import scoring
from ownergraph.stages import owners as owners_stage
from ownergraph.stages import score_model
from ownergraph.store.schema import SCHEMA

OWNER = SCHEMA.node("Owner")
AD = SCHEMA.node("Ad")


def _types(node, names):
    return {n: node.prop(n).type for n in names}  # KeyError names a missing property


def test_owner_indicators_are_owner_properties_with_their_types() -> None:
    types = _types(OWNER, scoring.INDICATORS)
    assert list(scoring.INT_INDICATORS) == [k for k in scoring.INDICATORS if types[k] == "INT64"]
    assert all(types[k] == "DOUBLE" for k in scoring.SHARE_INDICATORS)
    _types(OWNER, scoring.SCORE_PARTS)


def test_owner_reads_are_derived_from_the_schema() -> None:
    _types(OWNER, owners_stage.LIST_COLUMNS)
    _types(OWNER, owners_stage.SORTABLE)  # ORDER BY o.<sort>
    assert score_model.OWNER_INDICATORS_QUERY.endswith(
        OWNER.returns(("id", *scoring.SCORE_PARTS), "o")
    )
    _types(OWNER, [k for k, _ in report.INDICATOR_LABELS])


def test_text_indicator_properties_are_ad_properties() -> None:
    types = _types(AD, text_indicators.AD_PROPERTIES)
    assert all(types[k] == "BOOL" for k in text_indicators.BOOL_INDICATORS)
    assert types["text_rules"] == "INT64"
