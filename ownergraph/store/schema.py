"""The one declaration of the graph's data model, used by every store.

Each node label has a key property (unique); each relationship type joins two labels.
Types are the small set both engines share: STRING, INT64, DOUBLE, BOOL.
Times are integer epoch seconds (``*_ts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TYPES = ("STRING", "INT64", "DOUBLE", "BOOL")


@dataclass(frozen=True)
class Prop:
    name: str
    type: str = "STRING"

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown property type {self.type!r} for {self.name!r}")


@dataclass(frozen=True)
class NodeType:
    label: str
    key: str
    props: tuple[Prop, ...]
    indexes: tuple[str, ...] = ()

    @property
    def prop_names(self) -> list[str]:
        return [p.name for p in self.props]

    def prop(self, name: str) -> Prop:
        for p in self.props:
            if p.name == name:
                return p
        raise KeyError(f"{self.label} has no property {name!r}")

    def returns(self, props: Iterable[str] | None = None, var: str = "n") -> str:
        """A RETURN list ``n.a AS a, n.b AS b`` of ``props`` (default: all), each checked
        against the schema, so a read cannot ask for a property the schema lacks."""
        names = self.prop_names if props is None else [self.prop(p).name for p in props]
        return ", ".join(f"{var}.{p} AS {p}" for p in names)


@dataclass(frozen=True)
class RelType:
    type: str
    src: str
    dst: str
    props: tuple[Prop, ...] = ()

    @property
    def prop_names(self) -> list[str]:
        return [p.name for p in self.props]


@dataclass(frozen=True)
class Schema:
    nodes: tuple[NodeType, ...]
    rels: tuple[RelType, ...]

    def node(self, label: str) -> NodeType:
        for n in self.nodes:
            if n.label == label:
                return n
        raise KeyError(f"unknown node label {label!r}")

    def rel(self, rel_type: str) -> RelType:
        for r in self.rels:
            if r.type == rel_type:
                return r
        raise KeyError(f"unknown relationship type {rel_type!r}")


def _p(spec: str) -> tuple[Prop, ...]:
    """Parse ``"name:TYPE other"`` (type defaults to STRING) into props."""
    out = []
    for item in spec.split():
        name, _, typ = item.partition(":")
        out.append(Prop(name, typ or "STRING"))
    return tuple(out)


# Provenance carried by every derived edge: which method made it, with what confidence,
# and in which run (the id of its ``Run`` node, see ``ownergraph.audit``).
PROVENANCE = "method confidence:DOUBLE run"

SCHEMA = Schema(
    nodes=(
        NodeType(
            "Ad",
            "id",
            _p(
                "id site url posted_ts:INT64 title body city state country category "
                "price_usd:DOUBLE name age:INT64 post_kind sponsored:BOOL n_locations:INT64 "
                "source run text_rules:INT64 text_names text_ages text_ethnicities "
                "third_person:BOOL new_in_town:BOOL several_women:BOOL youth:BOOL text_incall"
            ),
            indexes=("posted_ts", "state"),
        ),
        # generic: a line or address that joins unrelated owners (ownergraph.owners.generic),
        # left out of the cores that owner detection builds; generic_reason says why.
        NodeType("Phone", "number", _p("number region generic:BOOL generic_reason")),
        NodeType("Email", "address", _p("address generic:BOOL generic_reason")),
        NodeType("Location", "key", _p("key country state city")),
        NodeType(
            "Author",
            "id",
            _p(
                "id size:INT64 threshold:DOUBLE expected_precision:DOUBLE "
                "target_precision:DOUBLE basis model"
            ),
        ),
        NodeType(
            "Tx",
            "txid",
            _p(
                "txid first_seen_ts:INT64 block_ts:INT64 block_height:INT64 "
                "fee_sat:INT64 n_inputs:INT64 n_outputs:INT64 "
                "coinjoin:BOOL coinjoin_kind run"
            ),
            indexes=("first_seen_ts",),
        ),
        NodeType("Address", "address", _p("address processor:BOOL")),
        NodeType("Wallet", "id", _p("id size:INT64 method")),
        NodeType("Service", "id", _p("id label category")),
        NodeType(
            "Owner",
            "id",
            _p(
                "id ads:INT64 states:INT64 cities:INT64 active_days:INT64 ads_per_day:DOUBLE "
                "names:INT64 ages:INT64 phones:INT64 emails:INT64 wallets:INT64 "
                "btc_spent:DOUBLE usd_spent:DOUBLE evidence score:DOUBLE flags reasons "
                "method soft_joins:INT64 reposts:INT64 dated_ads:INT64 undated_ads:INT64 "
                "first_ts:INT64 last_ts:INT64 moves:INT64 ethnicities:INT64 "
                "third_person:DOUBLE new_in_town:DOUBLE several_women:DOUBLE youth:DOUBLE "
                "shared_incall:INT64 score_mode run since_run"
            ),
            indexes=("score",),
        ),
        # A picture, by its hashes only (key: PDQ hex; never pixels, file names or URLs).
        # picture: the near-duplicate group it matched into (ownergraph.stages.images);
        # generic: shown by unrelated owners (stock photo, logo, badge), never evidence.
        NodeType(
            "Image",
            "hash",
            _p(
                "hash phash pdq_quality:INT64 crops source picture picture_confidence:DOUBLE "
                "ads:INT64 components:INT64 generic:BOOL generic_reason"
            ),
        ),
        # An analyst's label of an owner group (kept across re-detection: same id, same
        # smallest ad) and the fitted score model (one node, id "current").
        NodeType("OwnerLabel", "owner_id", _p("owner_id label labelled_ts:INT64 ads:INT64")),
        NodeType(
            "ScoreModel",
            "id",
            _p(
                "id weights intercept:DOUBLE cv_auc:DOUBLE cv_auc_sd:DOUBLE n_labels:INT64 "
                "n_operation:INT64 n_independent:INT64 regularisation:DOUBLE fitted_ts:INT64"
            ),
        ),
        # Daily operation: one node per writing run (who, when, command, counts), the
        # history of owner ids (which ids became which), watches and their hits.
        NodeType(
            "Run",
            "id",
            _p(
                "id who command mode status started_ts:INT64 finished_ts:INT64 stages counts inputs"
            ),
        ),
        NodeType(
            "OwnerChange",
            "id",
            _p("id run ts:INT64 kind old_id new_id shared:INT64 old_ads:INT64 new_ads:INT64"),
        ),
        NodeType("Watch", "id", _p("id kind value digest:BOOL note created_ts:INT64 who")),
        NodeType(
            "WatchHit",
            "id",
            _p("id watch run ts:INT64 kind subject owner baseline:BOOL"),
        ),
    ),
    rels=(
        RelType("HAS_PHONE", "Ad", "Phone", _p(PROVENANCE)),
        RelType("HAS_EMAIL", "Ad", "Email", _p(PROVENANCE)),
        RelType("POSTED_IN", "Ad", "Location"),
        RelType("WRITTEN_BY", "Ad", "Author", _p("p:DOUBLE precision:DOUBLE " + PROVENANCE)),
        RelType("SPENT_IN", "Address", "Tx", _p("sat:INT64 vin:INT64 n:INT64")),
        RelType("PAYS", "Tx", "Address", _p("sat:INT64 vout:INT64")),
        RelType("IN_WALLET", "Address", "Wallet", _p(PROVENANCE)),
        RelType(
            "TAGGED",
            "Address",
            "Service",
            _p("source level cluster_definer:BOOL pack " + PROVENANCE),
        ),
        RelType(
            "PAID_FOR",
            "Tx",
            "Ad",
            _p("lag_s:INT64 usd_error:DOUBLE candidates:INT64 ambiguous:BOOL " + PROVENANCE),
        ),
        RelType("BELONGS_TO", "Ad", "Owner", _p("core via precision:DOUBLE " + PROVENANCE)),
        RelType("REPOST_OF", "Ad", "Ad", _p("window_days:DOUBLE " + PROVENANCE)),
        RelType("HAS_IMAGE", "Ad", "Image", _p(PROVENANCE)),
        # two pictures matched as one: method pdq | phash | crops, Hamming distance,
        # confidence = the matcher's measured pair precision at its radius
        RelType("SIMILAR_TO", "Image", "Image", _p("distance:INT64 " + PROVENANCE)),
    ),
)
