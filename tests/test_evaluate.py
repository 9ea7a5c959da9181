"""Evaluation metrics on hand-computed examples, brute force, a world, a store and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ownergraph.evaluate import (
    EvaluationError,
    align,
    bcubed_scores,
    cluster_scores,
    evaluate,
    groups_recovered,
    label_pairs,
    link_scores,
    pair_scores,
    pairwise_scores,
    phone_labels,
    predictions_from_store,
    recovery_summary,
    wallet_truth,
)
from ownergraph.synth import WorldConfig, generate_world

# truth: A = {1, 2, 3}, B = {4, 5}
TRUTH = pd.Series(["A", "A", "A", "B", "B"], index=["1", "2", "3", "4", "5"])


def s(labels: dict[str, str]) -> pd.Series:
    return pd.Series(labels)


def test_perfect_prediction() -> None:
    pred = s({"1": "x", "2": "x", "3": "x", "4": "y", "5": "y"})
    sc = cluster_scores(TRUTH, pred)
    for k in ("pairwise_precision", "pairwise_recall", "bcubed_precision", "bcubed_recall"):
        assert sc[k] == 1.0
    assert sc["true_pairs"] == 4 and sc["correct_pairs"] == 4


def test_all_merged() -> None:
    pred = s({k: "g" for k in TRUTH.index})
    sc = cluster_scores(TRUTH, pred)
    assert sc["pairwise_precision"] == pytest.approx(4 / 10)
    assert sc["pairwise_recall"] == 1.0
    # B3 precision: 3 items at 3/5, 2 items at 2/5
    assert sc["bcubed_precision"] == pytest.approx((3 * 3 / 5 + 2 * 2 / 5) / 5)
    assert sc["bcubed_recall"] == 1.0


def test_all_split_and_missing_items_are_singletons() -> None:
    sc = cluster_scores(TRUTH, pd.Series(dtype=object))
    assert sc["pairwise_precision"] == 1.0  # nothing claimed
    assert sc["pairwise_recall"] == 0.0
    assert sc["bcubed_precision"] == 1.0
    assert sc["bcubed_recall"] == pytest.approx((3 * 1 / 3 + 2 * 1 / 2) / 5)
    assert sc["n_unassigned"] == 5 and sc["n_pred_groups"] == 5
    explicit = cluster_scores(TRUTH, s({k: k for k in TRUTH.index}))
    assert explicit["bcubed_recall"] == sc["bcubed_recall"]


def test_known_mixed_example() -> None:
    # pred: X = {1, 2}, Y = {3, 4, 5}
    pred = s({"1": "X", "2": "X", "3": "Y", "4": "Y", "5": "Y"})
    sc = cluster_scores(TRUTH, pred)
    assert sc["pairwise_precision"] == pytest.approx(2 / 4)
    assert sc["pairwise_recall"] == pytest.approx(2 / 4)
    assert sc["bcubed_precision"] == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert sc["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    p, r = sc["bcubed_precision"], sc["bcubed_recall"]
    assert sc["bcubed_f1"] == pytest.approx(2 * p * r / (p + r))


def test_groups_recovered_threshold() -> None:
    pred = s({"1": "X", "2": "X", "3": "Y", "4": "Y", "5": "Y"})
    kinds = pd.Series({"A": "independent", "B": "operation"})
    t = groups_recovered(TRUTH, pred, threshold=0.6, kind=kinds).set_index("group")
    assert t.loc["A", "purity"] == 1.0
    assert t.loc["A", "completeness"] == pytest.approx(2 / 3)
    assert t.loc["B", "purity"] == pytest.approx(2 / 3)
    assert t["recovered"].all()
    strict = groups_recovered(TRUTH, pred, threshold=0.9, kind=kinds)
    assert not strict["recovered"].any()
    summary = recovery_summary(strict)
    assert summary["groups"] == 2 and summary["recovered"] == 0
    assert summary["operation_groups"] == 1
    assert len(groups_recovered(TRUTH, pred, min_size=3)) == 1


def test_prediction_items_outside_truth() -> None:
    pred = s({"1": "x", "2": "x", "zz": "x"})
    with pytest.raises(EvaluationError, match="not in the truth.*zz"):
        cluster_scores(TRUTH, pred)
    sc = cluster_scores(TRUTH, pred, extra="ignore")
    assert sc["n_pred_outside_truth"] == 1
    assert sc["correct_pairs"] == 1


def test_bad_inputs_name_the_records() -> None:
    with pytest.raises(EvaluationError, match="more than one label"):
        cluster_scores(TRUTH, pd.Series(["x", "y"], index=["1", "1"]))
    with pytest.raises(EvaluationError, match="missing label.*'3'"):
        cluster_scores(TRUTH, pd.Series(["x", None], index=["1", "3"]))


@settings(max_examples=examples(60))
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=30),
)
def test_contingency_metrics_match_brute_force(labels: list[tuple[int, int]]) -> None:
    t = np.array([a for a, _ in labels])
    p = np.array([b for _, b in labels])
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(t)), 2):
        same_t, same_p = t[i] == t[j], p[i] == p[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    pw = pairwise_scores(t, p)
    assert pw["correct_pairs"] == tp
    assert pw["predicted_pairs"] == tp + fp
    assert pw["true_pairs"] == tp + fn
    prec = [np.mean(t[p == p[i]] == t[i]) for i in range(len(t))]
    rec = [np.mean(p[t == t[i]] == p[i]) for i in range(len(t))]
    b3 = bcubed_scores(t, p)
    assert b3["bcubed_precision"] == pytest.approx(np.mean(prec))
    assert b3["bcubed_recall"] == pytest.approx(np.mean(rec))


def test_align_codes_follow_the_truth_order() -> None:
    t, p, info = align(TRUTH, s({"5": "q", "1": "q"}))
    assert list(t) == [0, 0, 0, 1, 1]
    assert p[0] == p[4] and len(set(p[1:4])) == 3
    assert info == {"n_items": 5, "n_unassigned": 3, "n_pred_outside_truth": 0}


def test_pair_scores() -> None:
    sc = pair_scores([True, True, False, False], [0.9, 0.4, 0.5, 0.1])
    assert sc["roc_auc"] == pytest.approx(0.75)
    assert sc["tpr_at_fpr_0.01"] == pytest.approx(0.5)
    perfect = pair_scores([True, False] * 50, [1.0, 0.0] * 50)
    assert perfect["roc_auc"] == 1.0 and perfect["tpr_at_fpr_0.001"] == 1.0
    with pytest.raises(EvaluationError, match="positive and negative"):
        pair_scores([True, True], [0.1, 0.2])
    y = label_pairs(["1", "1", "4"], ["2", "4", "5"], TRUTH)
    assert list(y) == [True, False, True]
    with pytest.raises(EvaluationError, match="not in the truth"):
        label_pairs(["1"], ["nope"], TRUTH)


def test_link_scores() -> None:
    truth = pd.DataFrame({"txid": ["t1", "t2", "t3"], "ad_id": ["a1", "a2", "a3"]})
    pred = pd.DataFrame({"txid": ["t1", "t2", "t9"], "ad_id": ["a1", "a3", "a9"]})
    sc = link_scores(truth, pred)
    assert sc["correct_links"] == 1
    assert sc["precision"] == pytest.approx(1 / 3) and sc["recall"] == pytest.approx(1 / 3)
    with pytest.raises(EvaluationError, match="lack columns"):
        link_scores(truth, pred.rename(columns={"txid": "tx"}))


def test_phone_labels_are_connected_components() -> None:
    df = pd.DataFrame(
        {
            "ad_id": ["a", "b", "b", "c", "d", "e"],
            "phone": ["p1", "p1", "p2", "p2", "p3", None],
        }
    )
    lab = phone_labels(df)
    assert lab["a"] == lab["b"] == lab["c"]
    assert lab["d"] != lab["a"]
    assert "e" not in lab.index  # no phone: unlabelled
    pred = s({"a": "g", "b": "g", "c": "h", "d": "h", "e": "h"})
    sc = cluster_scores(lab, pred, extra="ignore")
    assert sc["n_items"] == 4 and sc["n_pred_outside_truth"] == 1


def test_wallet_truth_scopes() -> None:
    addrs = pd.DataFrame(
        {
            "address": ["a1", "a2", "x1", "e1", "e2"],
            "wallet_id": ["w1", "w1", "", "", ""],
            "owner_id": ["o1", "o1", "", "", ""],
            "entity": ["w1", "w1", "ex0", "external", "external"],
            "role": ["owner", "owner", "exchange", "external", "external"],
        }
    )
    owners = wallet_truth(addrs, "owners")
    assert dict(owners) == {"a1": "w1", "a2": "w1"}
    everyone = wallet_truth(addrs, "all")
    assert everyone["x1"] == "ex0"
    assert everyone["e1"] != everyone["e2"]  # one-off external addresses stand alone


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evalworld")
    generate_world(out, 400, seed=21, config=WorldConfig(days=8.0, operation_share=0.2))
    return out


def test_evaluate_world_truth_scores_itself_perfectly(small_world: Path) -> None:
    truth = pd.read_csv(small_world / "truth" / "ads.csv", dtype=str)
    pred = truth[["ad_id", "owner_id"]]
    sc = evaluate("owners", small_world, pred)
    assert sc["bcubed_f1"] == 1.0 and sc["owners_recovered_share"] == 1.0
    merged = pred.assign(owner_id="one")
    assert evaluate("owners", small_world, merged)["pairwise_precision"] < 0.5
    authors = evaluate("authors", small_world / "truth", truth[["ad_id", "author_id"]])
    assert authors["bcubed_f1"] == 1.0
    pays = pd.read_csv(small_world / "truth" / "payments.csv", dtype=str)
    assert evaluate("payments", small_world, pays.iloc[:-1])["recall"] < 1.0
    addrs = pd.read_csv(small_world / "truth" / "addresses.csv", dtype=str)
    owned = addrs.dropna(subset=["wallet_id"])
    w = evaluate("wallets", small_world, owned[["address", "wallet_id"]])
    assert w["owners_bcubed_f1"] == 1.0
    assert w["all_bcubed_precision"] == 1.0 and w["all_bcubed_recall"] < 1.0


def test_evaluate_rejects_bad_predictions(small_world: Path) -> None:
    with pytest.raises(EvaluationError, match="group column"):
        evaluate("owners", small_world, pd.DataFrame({"ad_id": ["1"]}))
    with pytest.raises(EvaluationError, match="unknown kind"):
        evaluate("phones", small_world, pd.DataFrame())
    with pytest.raises(EvaluationError, match="no truth found"):
        evaluate("owners", small_world / "bitcoin", pd.DataFrame())
    truth = pd.read_csv(small_world / "truth" / "ads.csv", dtype=str)
    two = pd.DataFrame({"ad_id": [truth.ad_id[0]] * 2, "group_id": ["g1", "g2"]})
    with pytest.raises(EvaluationError, match="more than one predicted group"):
        evaluate("owners", small_world, two)


def test_predictions_from_the_embedded_store(embedded_store, small_world: Path) -> None:
    truth = pd.read_csv(small_world / "truth" / "ads.csv", dtype=str).head(60)
    embedded_store.upsert_nodes("Ad", truth[["ad_id"]].rename(columns={"ad_id": "id"}))
    owners = truth["owner_id"].drop_duplicates()
    embedded_store.upsert_nodes("Owner", pd.DataFrame({"id": owners}))
    edges = truth.rename(columns={"ad_id": "src", "owner_id": "dst"})[["src", "dst"]]
    embedded_store.upsert_edges("BELONGS_TO", edges.assign(method="truth", confidence=1.0))
    pred = predictions_from_store(embedded_store, "owners")
    assert len(pred) == 60
    sc = evaluate("owners", small_world, pred)
    # the 60 stored ads are grouped right, the rest of the world is unassigned
    assert sc["bcubed_precision"] == 1.0
    assert sc["n_unassigned"] == sc["n_items"] - 60
    assert predictions_from_store(embedded_store, "payments").columns.tolist() == [
        "txid",
        "ad_id",
    ]


def test_cli_synth_and_evaluate(tmp_path: Path) -> None:
    from ownergraph.cli import app

    runner = CliRunner()
    out = tmp_path / "w"
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"days": 5.0}))
    r = runner.invoke(app, ["synth", "--ads", "150", "--seed", "3", "--out", str(out),
                            "--config", str(cfg)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (out / "ads.jsonl").exists()
    again = runner.invoke(app, ["synth", "--ads", "10", "--out", str(out)])
    assert again.exit_code == 2 and "not empty" in " ".join(again.output.split())  # rich wraps
    truth = pd.read_csv(out / "truth" / "ads.csv", dtype=str)
    pred = tmp_path / "pred.csv"
    truth[["ad_id", "owner_id"]].to_csv(pred, index=False)
    r = runner.invoke(
        app, ["evaluate", "--kind", "owners", "--truth", str(out), "--pred", str(pred), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["bcubed_f1"] == 1.0
    r = runner.invoke(app, ["evaluate", "--kind", "owners", "--truth", str(out), "--pred",
                            str(out / "rates.csv")])  # fmt: skip
    assert r.exit_code == 2 and "lack the 'ad_id' column" in r.output
    bad = runner.invoke(app, ["synth", "--ads", "5", "--out", str(tmp_path / "x"),
                              "--config", str(tmp_path / "missing.json")])  # fmt: skip
    assert bad.exit_code == 2 and "world config" in bad.output
