"""Owner groups that hold on real ads: identifier-label evaluation, the author operating
point by candidate-pair precision, attach-only author links, self-calibrated detection.

Hand-checked values on tiny frames; the store and CLI paths run on both stores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ownergraph import identifier_labels as il
from ownergraph.linking.stylometry.operating_point import (
    MIN_ACCEPTED,
    at_threshold,
    operating_point,
    precision_curve,
)
from ownergraph.owners import calibration as cal
from ownergraph.owners import communities as cm
from ownergraph.owners.joins import core_joins, merges_by_kind
from ownergraph.stats import wilson_lower


def _ev(rows: list[tuple[str, str, str]], conf: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        [{"ad": a, "kind": k, "hub": h, "confidence": conf} for a, k, h in rows],
        columns=["ad", "kind", "hub", "confidence"],
    )


# ads a1..a3 share phone P (a3 also carries phone Q, shared with a4); b1-b2 share e-mail E;
# c1 has a phone of its own; z1 has no identifier.
ADS = np.array(["a1", "a2", "a3", "a4", "b1", "b2", "c1", "z1"], dtype=object)
HARD = _ev(
    [
        ("a1", "phone", "P"), ("a2", "phone", "P"), ("a3", "phone", "P"), ("a3", "phone", "Q"),
        ("a4", "phone", "Q"), ("b1", "email", "E"), ("b2", "email", "E"), ("c1", "phone", "C"),
    ]
)  # fmt: skip


def test_identifier_components_and_labelled_ads() -> None:
    comp = il.identifier_components(ADS, HARD)
    assert comp[0] == comp[1] == comp[2] == comp[3]  # a1-a4 through P and Q
    assert comp[4] == comp[5] != comp[0]
    assert len(set(comp)) == 4  # {a1..a4}, {b1,b2}, {c1}, {z1}
    assert il.labelled_ads(ADS, HARD).tolist() == [True] * 7 + [False]


def test_hide_ads_draws_only_from_multi_ad_components_and_is_seeded() -> None:
    comp = il.identifier_components(ADS, HARD)
    h = il.hide_ads(comp, 0.5, seed=3)
    assert h.sum() == 3  # half of the six ads in components of >= 2 ads
    assert not h[6] and not h[7]  # c1 (alone) and z1 (no identifier) are never hidden
    assert (h == il.hide_ads(comp, 0.5, seed=3)).all()
    with pytest.raises(ValueError, match="share"):
        il.hide_ads(comp, 1.0)


def test_without_identifiers_drops_only_hard_links_of_hidden_ads() -> None:
    ev = pd.concat([HARD, _ev([("a1", "author", "X"), ("z1", "author", "X")])])
    out = il.without_identifiers(ev, np.array(["a1", "a3"]))
    assert set(out[out["ad"] == "a1"]["kind"]) == {"author"}
    assert "a3" not in set(out["ad"])
    assert len(out) == len(ev) - 3


def test_reattachment_hand_computed() -> None:
    comp = np.array([0, 0, 0, 1, 1, 2])
    hidden = np.array([True, False, False, True, False, False])
    # ad 0 lands with its component (group A holds ads 1 and 2); ad 3 lands in a group
    # with ad 5 only (another component): attached, not with its own.
    pred = np.array(["A", "A", "A", "B", "C", "B"])
    r = il.reattachment(comp, pred, hidden)
    assert r["hidden"] == 2 and r["attached"] == 1.0
    assert r["precision"] == 0.5 and r["recall"] == 0.5 and r["alone"] == 0.0
    assert r["mate_precision"] == pytest.approx((1.0 + 0.0) / 2)
    alone = il.reattachment(comp, np.arange(6), hidden)
    assert alone["precision"] is None and alone["alone"] == 1.0 and alone["recall"] == 0.0


def test_grouping_figures_counts_merges_and_can_leave_unlabelled_ads_out() -> None:
    comp = np.array([0, 0, 1, 2])  # ad 3 is unlabelled (its own component)
    pred = np.array([0, 0, 1, 1])  # components 1 and 2 joined
    full = il.grouping_figures(comp, pred)
    assert full["merged_groups"] == 1 and full["ads_in_merged"] == 2
    assert full["precision"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    labelled = il.grouping_figures(comp, pred, np.array([True, True, True, False]))
    assert labelled["precision"] == 1.0 and labelled["merged_groups"] == 0


def test_operating_point_picks_the_lowest_threshold_reaching_the_target() -> None:
    # 40 pairs at p=0.99 all same-component, 40 at p=0.6 half right, 100 at p=0.2 wrong
    p = np.r_[np.full(40, 0.99), np.full(40, 0.6), np.full(100, 0.2)]
    same = np.r_[np.ones(40, bool), np.arange(40) % 2 == 0, np.zeros(100, bool)]
    curve = precision_curve(p, same)
    assert curve["pairs"] == 180 and curve["positives"] == 60
    op = operating_point(curve, 0.95)
    assert op.reachable and 0.6 < op.threshold <= 0.99
    assert (op.accepted, op.same, op.precision) == (40, 40, 1.0)
    assert op.recall == pytest.approx(40 / 60)
    assert op.precision_lower == pytest.approx(wilson_lower(40, 40))
    op75 = operating_point(curve, 0.75)
    assert op75.threshold <= 0.6 and op75.accepted == 80 and op75.precision == 0.75
    assert at_threshold(curve, 0.5).accepted == 80
    nope = operating_point(precision_curve(p[40:], same[40:]), 0.95)
    assert not nope.reachable and nope.best_precision == pytest.approx(0.5)
    assert "no threshold reaches precision 0.95" in nope.describe()
    few = operating_point(precision_curve(np.full(MIN_ACCEPTED - 1, 0.9), np.ones(29, bool)), 0.9)
    assert not few.reachable  # fewer accepted pairs than needed to count as measured


def test_attach_orphans_joins_an_identifier_less_ad_to_its_best_group_only() -> None:
    ads = np.array(["x1", "x2", "y1", "y2", "o1", "o2", "s1"], dtype=object)
    ev = pd.concat(
        [
            _ev([("x1", "phone", "X"), ("x2", "phone", "X"), ("y1", "phone", "Y")]),
            _ev([("y2", "phone", "Y"), ("s1", "phone", "S")]),
            # o1 writes like x1 and x2; o2 like x1 and y1 (a tie); s1 (own phone) like x2
            _ev([("o1", "author", "A"), ("x1", "author", "A"), ("x2", "author", "A")]),
            _ev([("o2", "author", "B"), ("x1", "author", "B"), ("y1", "author", "B")]),
            _ev([("s1", "author", "C"), ("x2", "author", "C")]),
            # an author hub between the two phone groups joins nothing
            _ev([("x2", "author", "D"), ("y2", "author", "D")]),
        ]
    )
    g = cm.build_evidence_graph(ads, ev)
    memb = cm.owner_communities(g)
    grp = dict(zip(g.ads, memb, strict=True))
    assert grp["o1"] == grp["x1"] == grp["x2"]  # attached
    assert grp["o2"] not in (grp["x1"], grp["y1"])  # a tie: stays alone
    assert grp["s1"] != grp["x2"]  # has a phone of its own: never attached
    assert grp["y1"] == grp["y2"] != grp["x1"]  # author links never join phone groups
    joined = core_joins(g, memb, {"author": 0.97})
    row = joined.set_index("ad").loc["o1"]
    assert row["via"] == "author" and row["precision"] == 0.97 and row["core"] == "o1"
    assert joined.set_index("ad").loc["x1", "via"] == "identifiers"
    assert joined.set_index("ad").loc["o2", "via"] == "alone"
    assert merges_by_kind(joined) == {"author": 1}
    # joining cores stays possible when asked for
    joined_cores = cm.owner_communities(g, attach_only=(), resolution=0.0001, support_power=0)
    grp2 = dict(zip(g.ads, joined_cores, strict=True))
    assert grp2["x2"] == grp2["y2"]


def _world(n_groups: int, noisy: bool, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Groups of 4 ads sharing a phone; one author hub per group links its ads (precise),
    or, if ``noisy``, authors are shuffled across groups."""
    rng = np.random.default_rng(seed)
    ads, rows = [], []
    for g in range(n_groups):
        for i in range(4):
            a = f"g{g}-{i}"
            ads.append(a)
            rows.append((a, "phone", f"P{g}"))
    authors = np.repeat(np.arange(n_groups), 4)
    if noisy:
        authors = rng.permutation(authors)
    rows += [(a, "author", f"A{x}") for a, x in zip(ads, authors, strict=True)]
    return np.array(sorted(ads), dtype=object), _ev(rows, conf=0.9)


def _run(ads: np.ndarray, ev: pd.DataFrame, s: cal.Setting) -> np.ndarray:
    g = cm.build_evidence_graph(ads, ev, s.weights)
    return cm.owner_communities(
        g,
        s.resolution,
        support_power=s.support_power,
        attach_only=s.attach_only,
        attach_margin=s.attach_margin,
    )


def test_calibration_keeps_precise_author_links_and_drops_noisy_ones() -> None:
    ads, ev = _world(60, noisy=False)
    good = cal.calibrate(ads, ev, _run, seed=1)
    assert "author" in good.setting.soft, good.reason
    assert good.precision["author"] == 1.0
    assert {r["draw"] for r in good.rows} == {"calibration", "check"}
    ads, ev = _world(60, noisy=True)
    bad = cal.calibrate(ads, ev, _run, seed=1)
    assert bad.setting is cal.HARD_ONLY
    assert "no soft setting" in bad.reason or "check" in bad.reason
    only_hard = cal.calibrate(ads, ev[ev["kind"] == "phone"], _run)
    assert only_hard.setting is cal.HARD_ONLY and "no soft evidence" in only_hard.reason


def test_sample_components_takes_whole_evidence_components_up_to_the_limit() -> None:
    ads, ev = _world(60, noisy=False)  # 60 components of 4 ads (phone + author)
    extra = np.array(["lone-1", "lone-2"], dtype=object)  # no links: components of 1
    ads = np.sort(np.concatenate([ads, extra]))
    comp = cal.evidence_components(ads, ev)
    assert len(np.unique(comp)) == 62
    mask = cal.sample_components(ads, ev, 50, seed=3)
    assert 47 <= mask.sum() <= 50  # whole components: at most 3 ads short of the limit
    for c in np.unique(comp[mask]):  # every drawn component is whole
        assert mask[comp == c].all()
    assert (cal.sample_components(ads, ev, 50, seed=3) == mask).all()  # seeded
    assert (cal.sample_components(ads, ev, 50, seed=4) != mask).any()
    assert cal.sample_components(ads, ev, 1, seed=3).sum() in (1, 4)  # first kept whole


def test_calibration_on_more_ads_than_its_limit_measures_a_drawn_sample() -> None:
    ads, ev = _world(200, noisy=False)  # 800 ads
    full = cal.calibrate(ads, ev, _run, seed=1, max_ads=None)
    part = cal.calibrate(ads, ev, _run, seed=1, max_ads=400)
    assert full.sample == {} and part.sample == {"ads": 400, "of": 800}
    assert part.hidden == round(il.DEFAULT_HIDE_SHARE * 400) < full.hidden
    assert "author" in full.setting.soft and "author" in part.setting.soft
    ads, ev = _world(200, noisy=True)  # imprecise authors stay out on the sample too
    assert cal.calibrate(ads, ev, _run, seed=1, max_ads=400).setting is cal.HARD_ONLY
    with pytest.raises(ValueError, match="max_ads"):
        cal.calibrate(ads, ev, _run, max_ads=0)


# ------------------------------------------------------------------ store and CLI


def _load_world(store, n_groups: int = 40) -> None:
    """Ads in phone groups whose ads share a persona text; some ads carry no phone."""
    rng = np.random.default_rng(0)
    words = (
        "sweet sexy new in town call now petite blonde exotic latina asian ebony curvy fun "
        "discreet incall outcall vip special rose kiss treat yourself gentlemen only real"
    ).split()
    ads, phones, edges = [], [], []
    for g in range(n_groups):
        persona = " ".join(rng.choice(words, 14)) + f" ask for name{g} xx{g}yy"
        phone = f"+1702555{g:04d}"
        phones.append({"number": phone})
        for i in range(5):
            ad = f"w{g:03d}-{i}"
            body = persona + " " + " ".join(rng.choice(words, 3))
            ads.append({"id": ad, "title": f"name{g} {words[g % len(words)]}", "body": body})
            if i < 4:
                edges.append({"src": ad, "dst": phone, "method": "test", "confidence": 1.0})
    store.upsert_nodes("Ad", ads)
    store.upsert_nodes("Phone", phones)
    store.upsert_edges("HAS_PHONE", edges)


def test_link_authors_links_nothing_where_the_target_is_unreachable(store, tmp_path) -> None:
    from ownergraph.linking.stylometry.evaluate import train_model
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel
    from ownergraph.stages.authors import link_authors, store_ads

    _load_world(store)
    model, _ = train_model(
        store_ads(store), model=PairwiseAuthorModel(max_iter=40), neg_per_pos=5.0, min_test_neg=500
    )
    store.upsert_nodes("Author", [{"id": "old", "size": 2}])
    out = link_authors(store, model, target_precision=1.0, n_jobs=1, min_size=2)
    if out.linked:  # the tiny world may reach 1.0: then the stored precision says so
        rows = store.query("MATCH (u:Author) RETURN u.expected_precision AS p, u.basis AS b")
        assert all(r["p"] == 1.0 and "held-out candidate pairs" in r["b"] for r in rows)
    else:
        assert "no threshold reaches precision 1" in out.reason
        assert store.query("MATCH (u:Author) RETURN count(u) AS c")[0]["c"] == 0
    ok = link_authors(store, model, target_precision=0.5, n_jobs=1)
    assert ok.linked and ok.written_by > 0
    rows = store.query(
        "MATCH (a:Ad)-[w:WRITTEN_BY]->(u:Author) RETURN w.precision AS p, w.confidence AS c, "
        "u.expected_precision AS e, u.target_precision AS t"
    )
    assert rows and all(r["p"] == r["c"] == r["e"] >= 0.5 and r["t"] == 0.5 for r in rows)


def test_owners_detect_records_how_each_ad_joined_and_the_calibration(store) -> None:
    from ownergraph.stages.owners import detect_owners, owner_detail

    _load_world(store, 40)
    # author hubs: each persona's five ads (the fifth has no phone)
    store.upsert_nodes("Author", [{"id": f"A{g}", "size": 5} for g in range(40)])
    store.upsert_edges(
        "WRITTEN_BY",
        [
            {"src": f"w{g:03d}-{i}", "dst": f"A{g}", "p": 0.99, "method": "t", "confidence": 0.9}
            for g in range(40)
            for i in range(5)
        ],
    )
    summary = detect_owners(store)
    assert summary.calibration["setting"].startswith("+author attaching"), summary.calibration
    assert summary.soft_joins == {"author": 40}
    assert summary.calibration["measured_precision"]["author"] == 1.0
    rows = store.query(
        "MATCH (a:Ad {id: 'w007-4'})-[b:BELONGS_TO]->(o:Owner) "
        "RETURN b.via AS via, b.precision AS p, b.core AS core, o.id AS owner, "
        "o.soft_joins AS sj"
    )
    assert rows == [
        {"via": "author", "p": 1.0, "core": "w007-4", "owner": rows[0]["owner"], "sj": 1}
    ]
    d = owner_detail(store, rows[0]["owner"])
    assert d["soft_joins"] == [
        {"core": "w007-4", "via": "author", "precision": 1.0, "ads": 1, "phones": []}
    ]
    plain = detect_owners(store, method="components")
    assert plain.calibration == {} and plain.soft_joins == {}


def test_evaluate_identifiers_cli_on_a_store(store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ownergraph.cli import app
    from ownergraph.store.embedded import EmbeddedStore

    _load_world(store, 40)
    uri = store.uri
    if isinstance(store, EmbeddedStore):
        store.close()  # the CLI opens the database itself
    res = CliRunner().invoke(
        app,
        ["evaluate", "--labels", "identifiers", "--store", uri, "--seeds", "2",
         "--target-precision", "0.5", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    summary = {(r["grouping"], r["measure"]): r for r in out["summary"]}
    assert summary[("components", "precision")]["mean"] == 1.0
    assert summary[("alone", "recall")]["mean"] < summary[("components", "recall")]["mean"]
    assert len(out["runs"]) == 2 and out["runs"][0]["hidden"] == 32  # 20 % of 160
    owners = summary[("owners", "f1")]["mean"]
    assert owners >= summary[("components", "f1")]["mean"]
    bad = CliRunner().invoke(app, ["evaluate", "--store", uri])
    assert bad.exit_code == 2 and "--labels identifiers" in bad.output


def test_an_embedded_store_from_before_the_new_properties_migrates(tmp_path: Path) -> None:
    """Author / WRITTEN_BY / BELONGS_TO gained properties: an old store gets them added
    (null on old rows) when opened, and new rows are written in the table's own order."""
    import ladybug as lb

    from ownergraph.store.embedded import EmbeddedStore

    path = tmp_path / "old.lbug"
    db = lb.Database(str(path))
    conn = lb.Connection(db)
    conn.execute("CREATE NODE TABLE Ad(id STRING, title STRING, PRIMARY KEY(id))")
    conn.execute(
        "CREATE NODE TABLE Author(id STRING, size INT64, threshold DOUBLE, "
        "expected_precision DOUBLE, model STRING, PRIMARY KEY(id))"
    )
    conn.execute(
        "CREATE REL TABLE WRITTEN_BY(FROM Ad TO Author, p DOUBLE, method STRING, confidence DOUBLE)"
    )
    conn.execute("CREATE (:Ad {id: 'x'}), (:Ad {id: 'y'})")
    conn.execute("CREATE (:Author {id: 'old', size: 1, expected_precision: 0.9})")
    conn.execute(
        "MATCH (a:Ad {id: 'x'}), (u:Author {id: 'old'}) "
        "CREATE (a)-[:WRITTEN_BY {p: 0.5, method: 'm', confidence: 0.9}]->(u)"
    )
    conn.close()
    db.close()
    with EmbeddedStore(path) as s:
        s.init_schema()
        author = {"id": "new", "size": 2, "expected_precision": 0.85, "target_precision": 0.8}
        s.upsert_nodes("Author", [author | {"basis": "b", "model": "m"}])
        edge = {"src": "y", "dst": "new", "p": 0.99, "method": "m", "confidence": 0.85}
        s.upsert_edges("WRITTEN_BY", [edge | {"precision": 0.85}])
        rows = s.query(
            "MATCH (a:Ad)-[w:WRITTEN_BY]->(u:Author) RETURN a.id AS ad, u.id AS u, "
            "u.target_precision AS t, u.basis AS b, w.precision AS p, w.p AS wp ORDER BY ad"
        )
    assert rows == [
        {"ad": "x", "u": "old", "t": None, "b": None, "p": None, "wp": 0.5},
        {"ad": "y", "u": "new", "t": 0.8, "b": "b", "p": 0.85, "wp": 0.99},
    ]


def test_an_embedded_store_from_before_a_new_table_gets_it_when_opened(tmp_path: Path) -> None:
    """Tables added to the schema later (Image, Run, ...) are created when an older store
    is opened, so reading the new evidence is an empty answer, not a binder error."""
    import ladybug as lb

    from ownergraph.store.embedded import EmbeddedStore

    path = tmp_path / "old.lbug"
    db = lb.Database(str(path))
    conn = lb.Connection(db)
    conn.execute("CREATE NODE TABLE Ad(id STRING, title STRING, PRIMARY KEY(id))")
    conn.execute("CREATE (:Ad {id: 'x'})")
    conn.close()
    db.close()
    with EmbeddedStore(path) as s:
        rows = s.query("MATCH (a:Ad)-[:HAS_IMAGE]->(i:Image) RETURN a.id AS ad, i.hash AS h")
        assert rows == []
        assert s.query("MATCH (a:Ad) RETURN a.id AS id") == [{"id": "x"}]
