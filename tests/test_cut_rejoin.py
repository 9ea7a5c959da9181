"""Cut-and-rejoin: joins of identifier cores checked with identifier labels, and the
calibration rule that admits a joining setting by its measured join precision.

Hand-checked counts on tiny frames; the calibration is pure (no store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ownergraph import cut_rejoin as cr
from ownergraph import identifier_labels as il
from ownergraph.owners import calibration as cal
from ownergraph.owners import communities as cm


def _ev(rows: list[tuple[str, str, str]], conf: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        [{"ad": a, "kind": k, "hub": h, "confidence": conf} for a, k, h in rows],
        columns=["ad", "kind", "hub", "confidence"],
    )


# Component A: a1, a2 on phone P; bridge ad a3 lists P and Q; a4, a5 on Q.
# Component B: b1, b2 on phone R; b2 also carries e-mail E, which b3 shares (b3 also has
#   an e-mail F of its own).
# Component C: c1, c2 on phone S (nothing to cut: hiding S leaves no identifier).
# Component D: d1 with phone T and e-mail U of its own (one ad: no cut).
ADS = np.array(
    ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "c1", "c2", "d1", "z1"], dtype=object
)
HARD = _ev(
    [
        ("a1", "phone", "P"), ("a2", "phone", "P"), ("a3", "phone", "P"), ("a3", "phone", "Q"),
        ("a4", "phone", "Q"), ("a5", "phone", "Q"), ("b1", "phone", "R"), ("b2", "phone", "R"),
        ("b2", "email", "E"), ("b3", "email", "E"), ("b3", "email", "F"), ("c1", "phone", "S"),
        ("c2", "phone", "S"), ("d1", "phone", "T"), ("d1", "email", "U"),
    ]
)  # fmt: skip


def test_find_cuts_lists_each_cut_with_its_parts() -> None:
    cuts = cr.find_cuts(ADS, HARD)
    comp = il.identifier_components(ADS, HARD)
    got = {(r.by, r.key, r.parts) for r in cuts.itertuples()}
    # A: the bridge ad a3 (parts {a1,a2,P} and {a4,a5,Q}); hiding P leaves a1, a2 without
    # an identifier (one part only), likewise Q. B: e-mail E (parts {b1,b2,R} and {b3,F});
    # ad b2 (parts {b1,R} and {E,b3,F}); hiding R or b3 leaves one part.
    assert got == {("ad", "a3", 2), ("identifier", "email:E", 2), ("ad", "b2", 2)}
    assert set(cuts["component"]) == {comp[0], comp[5]}


def test_draw_hide_and_count_joins_exactly() -> None:
    cuts = cr.find_cuts(ADS, HARD)
    drawn = cr.draw_cuts(cuts, 1.0, np.random.default_rng(0))
    assert len(drawn) == 2 and drawn["component"].is_unique  # one cut per component
    a_cut = cuts[cuts["key"] == "a3"]
    b_cut = cuts[cuts["key"] == "email:E"]
    seen = cr.hide_cuts(HARD, pd.concat([a_cut, b_cut]))
    # a3 loses both phones; every link to E goes; nothing else
    assert len(seen) == len(HARD) - 4
    assert not ((seen["ad"] == "a3") | (seen["hub"] == "E")).any()
    comp = il.identifier_components(ADS, HARD)
    parts = cr.core_parts(comp, ADS, seen)
    # cores: {a1,a2} {a4,a5} {b1,b2} {b3} {c1,c2} {d1}; a3 and z1 have no identifier
    assert len(parts) == 6 and int(parts["part"].sum()) == 4
    pos = dict(zip(ADS, range(len(ADS)), strict=True))
    # a setting that rejoins A, joins B's part {b1,b2} with C instead, and leaves b3 alone
    groups = {"a1": 0, "a2": 0, "a3": 0, "a4": 0, "a5": 0, "b1": 1, "b2": 1, "c1": 1,
              "c2": 1, "b3": 2, "d1": 3, "z1": 4}  # fmt: skip
    pred = np.array([groups[a] for a in ADS])
    counts = cr.join_counts(parts, pred)
    assert counts == {
        "parts": 4,  # {a1,a2} {a4,a5} {b1,b2} {b3}
        "joined": 3,  # b3 is alone
        "correct": 2,  # A's two parts; {b1,b2} joined C, not its own other part
        "lenient": 2,
        "split": 2,
        "rejoined": 1,
        "strict_joins": 2,  # group 0: 2 cores, group 1: 2 cores
        "strict_correct": 1,
    }
    assert cr.join_figures(counts) == {
        "precision": 2 / 3,
        "lenient_precision": 2 / 3,
        "recall": 0.5,
        "strict_precision": 0.5,
    }
    # against every core: C's core joined too (wrongly); d1 alone
    every = cr.join_counts(parts, pred, every_core=True)
    assert (every["parts"], every["joined"], every["correct"]) == (6, 4, 2)
    assert pos["b3"] in set(parts["pos"])
    # a chain: A's parts land together in one group with B's and C's cores -> not correct
    # (more cores of other components than of its own), though leniently it is
    chain = np.array([0 if a != "z1" else 1 for a in ADS])
    c2 = cr.join_counts(parts, chain)
    assert (c2["joined"], c2["correct"], c2["lenient"]) == (4, 0, 4)
    assert (c2["strict_joins"], c2["strict_correct"]) == (5, 2)


def _owners(n: int, bridged: int, image_shuffle: bool, seed: int = 0):
    """n owners, each with 6 ads: 3 on phone P (the last also lists Q), 3 more on Q for the
    first ``bridged`` owners; the others' second phone group has no bridge (its own owner
    by the labels). One picture hub per owner on all its ads (precise), or pictures drawn
    at random across owners (``image_shuffle``)."""
    rng = np.random.default_rng(seed)
    rows, ads = [], []
    for g in range(n):
        for i in range(6):
            a = f"o{g:03d}-{i}"
            ads.append(a)
            rows.append((a, "phone", f"P{g}" if i < 3 else f"Q{g}"))
            if i == 2 and g < bridged:
                rows.append((a, "phone", f"Q{g}"))
    owner = np.repeat(np.arange(n), 6)
    pics = rng.permutation(owner) if image_shuffle else owner
    rows += [(a, "image", f"I{x}") for a, x in zip(ads, pics, strict=True)]
    return np.array(sorted(ads), dtype=object), _ev(rows, conf=0.9)


def _run(ads: np.ndarray, ev: pd.DataFrame, s: cal.Setting) -> np.ndarray:
    g = cm.build_evidence_graph(ads, ev, s.weights)
    return cm.owner_communities(
        g, s.resolution, support_power=s.support_power, attach_only=s.attach_only,
        attach_margin=s.attach_margin,
    )  # fmt: skip


SETTINGS = cal.image_settings([cal.HARD_ONLY])


def test_calibration_admits_a_precise_join_by_cut_and_rejoin() -> None:
    ads, ev = _owners(60, bridged=60, image_shuffle=False)
    c = cal.calibrate(ads, ev, _run, settings=SETTINGS, seed=1, join_rule="cut")
    assert "joining" in c.setting.name, c.reason
    assert c.joins["cut_components"] == 60 and "off" not in c.joins
    assert c.precision["image"] == c.joins["join_precision"]["image"] == 1.0
    joining = [r for r in c.rows if "joining" in r["setting"]]
    assert all(r["join_precision"] == 1.0 and r["join_n_joined"] > 0 for r in joining)


def test_calibration_refuses_an_imprecise_join() -> None:
    ads, ev = _owners(60, bridged=60, image_shuffle=True)
    c = cal.calibrate(ads, ev, _run, settings=SETTINGS, seed=1, join_rule="cut")
    assert "joining" not in c.setting.name
    rows = [r for r in c.rows if r["draw"] == "calibration"]
    base = rows[0]
    joining = [r for r in rows if "joining" in r["setting"] and r["join_n_joined"]]
    assert len(joining) == 3
    # each is refused by its join precision, or (a chain that merges everything, whose
    # parts all land with their other part: lenient precision 1.0, majority 0) by F1
    for r in joining:
        chain = r["join_precision_lenient"] == 1.0
        assert (r["f1"] <= base["f1"]) if chain else r["join_precision"] < cal.DEFAULT_TARGET
        assert r["join_precision_majority"] < cal.DEFAULT_TARGET
    assert any(r["join_precision_lenient"] == 1.0 for r in joining)


def test_too_few_cut_components_keeps_joins_off_and_says_why() -> None:
    ads, ev = _owners(60, bridged=10, image_shuffle=False)
    c = cal.calibrate(ads, ev, _run, settings=SETTINGS, seed=1, join_rule="cut")
    assert "joining" not in c.setting.name
    assert c.joins["cut_components"] == 10
    assert "10 identifier components" in c.joins["off"]
    with pytest.raises(ValueError, match="join rule"):
        cal.calibrate(ads, ev, _run, settings=SETTINGS, join_rule="guess")


def _load(store, n: int, bridged: int) -> None:
    """The world of :func:`_owners` (precise pictures) in a store."""
    ads, ev = _owners(n, bridged, image_shuffle=False)
    store.upsert_nodes("Ad", [{"id": a, "title": "t", "body": "b"} for a in ads])
    phone = {
        h: f"+1702555{i:04d}" for i, h in enumerate(sorted(set(ev.loc[ev.kind == "phone", "hub"])))
    }
    store.upsert_nodes("Phone", [{"number": p} for p in phone.values()])
    ph = ev[ev["kind"] == "phone"]
    store.upsert_edges(
        "HAS_PHONE",
        [
            {"src": a, "dst": phone[h], "method": "t", "confidence": 1.0}
            for a, h in zip(ph.ad, ph.hub, strict=True)
        ],
    )
    im = ev[ev["kind"] == "image"]
    store.upsert_nodes("Image", [{"hash": f"h{h}", "picture": h} for h in sorted(set(im.hub))])
    store.upsert_edges(
        "HAS_IMAGE",
        [
            {"src": a, "dst": f"h{h}", "method": "t", "confidence": 0.9}
            for a, h in zip(im.ad, im.hub, strict=True)
        ],
    )


def test_owners_detect_with_cut_joins_records_the_join_precision(store) -> None:
    from ownergraph.stages.owners import detect_owners

    # 40 owners whose phones a bridge ad ties (cut-able), 20 whose two phone groups only
    # their pictures tie (what a join is for)
    _load(store, 60, bridged=40)
    s = detect_owners(store, join_rule="cut")
    assert "image joining" in s.calibration["setting"], s.calibration
    joins = s.calibration["joins"]
    assert joins["rule"] == "cut" and joins["cut_components"] == 40
    assert joins["join_precision"] == {"image": 1.0}
    assert s.calibration["measured_precision"]["image"] == 1.0
    assert s.soft_joins == {"image": 20}  # each unbridged owner's second phone group
    rows = store.query(
        "MATCH (a:Ad)-[b:BELONGS_TO]->(o:Owner) WHERE b.via = 'image' "
        "RETURN DISTINCT b.core AS core, b.precision AS p"
    )
    assert len(rows) == 20 and all(r["p"] == 1.0 for r in rows)
    assert s.groups == 60
    # the slack rule (default) keeps the groups of hard identifiers apart here
    d = detect_owners(store)
    assert d.calibration["joins"] == {"rule": "slack"}
    assert "image" not in d.soft_joins


def test_owners_detect_cli_joins_option(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from ownergraph.cli import app
    from ownergraph.store.embedded import EmbeddedStore

    path = tmp_path / "g.lbug"
    s = EmbeddedStore(path)
    s.init_schema()
    _load(s, 30, bridged=10)  # 10 cut-able components: too few, joins stay off
    s.close()
    runner = CliRunner()
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--joins", "guess"])
    assert res.exit_code == 2 and "--joins must be slack, cut or both" in res.output
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--joins", "cut", "--json"])
    assert res.exit_code == 0, res.output
    joins = json.loads(res.output)["calibration"]["joins"]
    assert joins["rule"] == "cut" and joins["cut_components"] == 10
    assert "only 10 identifier components can be cut" in joins["off"]
