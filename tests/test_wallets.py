"""Wallet clustering: multi-input merge, CoinJoin kept apart, processors, change heuristic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.linking.wallets import (
    CHANGE_CONFIDENCE,
    MULTI_INPUT_CONFIDENCE,
    WalletClusterer,
)

# Realistic mainnet-looking P2PKH and P2WPKH strings (types matter to the change rule).
A, B, C, D, E = (f"1{c}" + "x" * 32 for c in "ABCDE")
P, Q = "1P" + "p" * 32, "1Q" + "q" * 32
SW = "bc1q" + "s" * 38  # a P2WPKH-shaped address


def frames(inputs, outputs):
    """inputs: [(txid, address)], outputs: [(txid, address, sat)]."""
    return (
        pd.DataFrame(inputs, columns=["txid", "address"]),
        pd.DataFrame(outputs, columns=["txid", "address", "sat"]),
    )


def test_multi_input_merges_transitively_with_provenance():
    inp, out = frames(
        [("t1", A), ("t1", B), ("t2", B), ("t2", C), ("t3", D)],
        [("t1", E, 10), ("t2", E, 20), ("t3", E, 30)],
    )
    c = WalletClusterer().fit(inp, out)
    assert c.labels_[A] == c.labels_[B] == c.labels_[C] == "w:" + A
    assert c.labels_[D] == "w:" + D and c.labels_[E] == "w:" + E
    links = c.links_.set_index("address")
    assert links.loc[B, "method"] == "multi-input"
    assert links.loc[B, "confidence"] == MULTI_INPUT_CONFIDENCE
    assert links.loc[D, "method"] == "singleton" and links.loc[D, "confidence"] == 1.0
    assert bool(links.loc[D, "spent"]) and not bool(links.loc[E, "spent"])
    w = c.wallets_.set_index("id")
    assert w.loc["w:" + A, "size"] == 3 and w.loc["w:" + A, "method"] == "multi-input"
    p = c.predict([C, "unknown"])
    assert p.iloc[0] == "w:" + A and pd.isna(p.iloc[1])


def test_wallet_ids_do_not_depend_on_row_order():
    rng = np.random.default_rng(0)
    inp, out = frames(
        [(f"t{i % 40}", f"1{i % 57:033d}") for i in range(200)],
        [(f"t{i}", f"1{i + 100:033d}", i) for i in range(40)]
        + [(f"t{i}", "1" + "9" * 33, 7) for i in range(40)],  # one fresh output each: change
    )
    a = WalletClusterer(change_heuristic=True).fit(inp, out)
    b = WalletClusterer(change_heuristic=True).fit(
        inp.sample(frac=1, random_state=1), out.iloc[rng.permutation(80)]
    )
    assert a.n_edges_["change"] > 0
    assert a.labels_.astype(str).equals(b.labels_.astype(str))
    cols = ["address", "wallet", "method", "confidence"]
    assert a.links_[cols].astype(str).equals(b.links_[cols].astype(str))


def test_coinjoin_inputs_are_kept_apart():
    # five owners put one input each into a JoinMarket-like mix: five equal outputs and
    # each owner's change
    owners = [f"1{c}" + "m" * 32 for c in "FGHJK"]
    mix_out = [("mix", f"1{c}" + "n" * 32, 1_000_000) for c in "FGHJK"]
    change = [("mix", f"1{c}" + "c" * 32, 40_000 + i) for i, c in enumerate("FGHJK")]
    inp, out = frames([("mix", a) for a in owners], [*mix_out, *change])
    c = WalletClusterer(coinjoin_min_equal_outputs=3).fit(inp, out)
    assert c.coinjoin_["mix"] and c.coinjoin_kind_["mix"] == "joinmarket"
    assert c.labels_[owners].nunique() == 5
    assert c.n_edges_["multi-input"] == 0
    # with a threshold above the mix size it is an ordinary multi-input transaction
    c = WalletClusterer(coinjoin_min_equal_outputs=6).fit(inp, out)
    assert not c.coinjoin_["mix"] and c.labels_[owners].nunique() == 1
    # and so it is with the guard off
    c = WalletClusterer(coinjoin_guard=False).fit(inp, out)
    assert not c.coinjoin_["mix"] and c.coinjoin_kind_["mix"] == "joinmarket"
    assert c.labels_[owners].nunique() == 1


def test_batch_payout_is_one_wallet_not_a_coinjoin():
    # one wallet pays 20 x 20 BTC from 30 inputs with one change output: merged
    ins = [("batch", f"1{i:033d}") for i in range(30)]
    outs = [("batch", f"1{i + 100:033d}", 20 * 10**8) for i in range(20)]
    inp, out = frames(ins, [*outs, ("batch", A, 12_345)])
    c = WalletClusterer().fit(inp, out)
    assert c.coinjoin_kind_["batch"] == ""
    assert c.labels_[[a for _, a in ins]].nunique() == 1


def test_input_counts_give_the_same_wallets_as_input_rows():
    # t1 spends two outputs of A (one SPENT_IN edge with n=2 in the graph) and one of B
    rows = [("t1", A), ("t1", A), ("t1", B), ("t2", C)]
    counted = pd.DataFrame({"txid": ["t1", "t1", "t2"], "address": [A, B, C], "count": [2, 1, 1]})
    txs = pd.DataFrame({"txid": ["t1", "t2"], "n_inputs": [3, 1], "coinbase": [False, False]})
    out = pd.DataFrame(
        {"txid": ["t1", "t1", "t2"], "address": [D, E, D], "sat": [70_000, 1_234, 5]}
    )
    a = WalletClusterer(change_heuristic=True).fit(frames(rows, [])[0], out, txs)
    b = WalletClusterer(change_heuristic=True).fit(counted, out, txs)
    assert a.n_edges_["change"] == b.n_edges_["change"] == 1
    assert a.labels_.astype(str).equals(b.labels_.astype(str))
    # without the count the graph's single edge hides an input: no change found
    c = WalletClusterer(change_heuristic=True).fit(counted.drop(columns="count"), out, txs)
    assert c.n_edges_["change"] == 0


def test_processor_sweeps_do_not_join_customers():
    inp, out = frames(
        [
            ("pay1", A),
            ("pay1", B),  # customer 1 (two addresses) pays invoice P
            ("pay2", C),  # customer 2 pays invoice Q
            ("sweep", P),
            ("sweep", Q),  # processor consolidates its invoices
            ("odd", D),
            ("odd", P),  # a mixed-input tx must not bridge the two sides
        ],
        [("pay1", P, 100), ("pay2", Q, 200), ("sweep", E, 290), ("odd", E, 1)],
    )
    c = WalletClusterer().fit(inp, out, processors=[P, Q])
    lab = c.labels_
    assert lab[P] == lab[Q]  # the processor is one wallet
    assert lab[A] == lab[B] != lab[C]
    assert lab[D] not in (lab[P], lab[A], lab[C])
    assert c.links_.set_index("address").loc[P, "processor"]
    # without the processor set the mixed tx merges D into the processor wallet
    assert WalletClusterer().fit(inp, out).labels_[D] == WalletClusterer().fit(inp, out).labels_[P]


def change_case(extra_inputs=(), extra_outputs=()):
    """t1 pays P (used before by t0) and a fresh change address C; A funds it."""
    return frames(
        [("t0", D), ("t1", A), *extra_inputs],
        [("t0", P, 5), ("t1", P, 1_000_000), ("t1", C, 123_456), *extra_outputs],
    )


def test_change_heuristic_positive_case_and_provenance():
    inp, out = change_case()
    assert WalletClusterer().fit(inp, out).labels_[C] != WalletClusterer().fit(inp, out).labels_[A]
    c = WalletClusterer(change_heuristic=True).fit(inp, out)
    assert c.labels_[C] == c.labels_[A]
    assert c.labels_[P] != c.labels_[A]
    assert c.change_.to_dict("records") == [{"txid": "t1", "address": C}]
    links = c.links_.set_index("address")
    assert links.loc[C, "method"] == "change"
    assert links.loc[A, "confidence"] == CHANGE_CONFIDENCE
    assert c.wallets_.set_index("id").loc[c.labels_[A], "method"] == "change"


def test_a_fit_on_part_of_the_chain_counts_receives_over_the_whole_chain():
    """An incremental run fits the clusterer on some transactions only: C is t1's one-time
    change in t1 alone, but not once the chain (t2) pays it again."""
    inp, out = change_case()
    assert WalletClusterer(change_heuristic=True).fit(inp, out).labels_[C] == "w:" + A
    whole = pd.Series({C: 2, P: 1})
    part = WalletClusterer(change_heuristic=True).fit(inp, out, receives=whole)
    assert part.labels_[C] == "w:" + C and part.n_edges_["change"] == 0
    more_in, more_out = frames([("t2", B)], [("t2", C, 9)])
    full = WalletClusterer(change_heuristic=True).fit(
        pd.concat([inp, more_in]), pd.concat([out, more_out])
    )
    assert full.labels_[C] == "w:" + C and full.n_edges_["change"] == 0


@pytest.mark.parametrize(
    "why, extra_in, extra_out",
    [
        ("two fresh outputs", (), [("t1", E, 7)]),
        ("change reused later", [("t2", B)], [("t2", C, 9)]),
        ("self-change", [("t1", P)], ()),
    ],
)
def test_change_heuristic_stays_conservative(why, extra_in, extra_out):
    inp, out = change_case(extra_in, extra_out)
    c = WalletClusterer(change_heuristic=True).fit(inp, out)
    assert c.n_edges_["change"] == 0, why


def test_change_needs_same_type_resolved_inputs_and_no_coinjoin():
    inp, out = frames([("t0", D), ("t1", A)], [("t0", P, 5), ("t1", P, 7), ("t1", SW, 8)])
    assert WalletClusterer(change_heuristic=True).fit(inp, out).n_edges_["change"] == 0
    assert (
        WalletClusterer(change_heuristic=True, change_same_type=False)
        .fit(inp, out)
        .n_edges_["change"]
        == 1
    )
    # an unresolved input (address null) hides possible self-change: no change link
    inp, out = change_case([("t1", None)])
    assert WalletClusterer(change_heuristic=True).fit(inp, out).n_edges_["change"] == 0
    # n_inputs from txs says there is an input the rows do not show
    inp, out = change_case()
    txs = pd.DataFrame({"txid": ["t0", "t1"], "n_inputs": [1, 2], "coinbase": [False, False]})
    assert WalletClusterer(change_heuristic=True).fit(inp, out, txs).n_edges_["change"] == 0


def test_processor_invoice_is_not_change():
    # paying a fresh invoice address: two fresh outputs, but the invoice is a processor's
    inp, out = frames([("t1", A)], [("t1", P, 1_000_000), ("t1", C, 123_456)])
    assert WalletClusterer(change_heuristic=True).fit(inp, out).n_edges_["change"] == 0
    c = WalletClusterer(change_heuristic=True).fit(inp, out, processors=[P])
    assert c.labels_[C] == c.labels_[A] and c.labels_[P] != c.labels_[A]


def test_round_value_option():
    inp, out = change_case()
    out.loc[out["address"] == P, "sat"] = 1_000_001  # payment not round
    assert WalletClusterer(change_heuristic=True).fit(inp, out).n_edges_["change"] == 1
    c = WalletClusterer(change_heuristic=True, change_round_sat=100_000).fit(inp, out)
    assert c.n_edges_["change"] == 0


def test_coinbase_transactions_never_yield_change():
    inp, out = frames([], [("cb", A, 5), ("cb", B, 6)])
    txs = pd.DataFrame({"txid": ["cb"], "n_inputs": [0], "coinbase": [True]})
    assert WalletClusterer(change_heuristic=True).fit(inp, out, txs).n_edges_["change"] == 0


def naive_components(inputs: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_tx: dict[int, list[int]] = {}
    for tx, a in inputs:
        by_tx.setdefault(tx, []).append(a)
    for addrs in by_tx.values():
        for a in addrs:
            ra, rb = find(addrs[0]), find(a)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {a: find(a) for tx, a in inputs}


@settings(max_examples=examples(60))
@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 25)), min_size=1, max_size=80))
def test_multi_input_matches_a_naive_union_find(pairs):
    inp = pd.DataFrame(pairs, columns=["txid", "address"])
    out = pd.DataFrame({"txid": [0], "address": [999], "sat": [1]})
    labels = WalletClusterer().fit(inp, out).labels_
    naive = naive_components(pairs)
    # same partition; wallet id = "w:" + the smallest member
    for a, root in naive.items():
        assert labels[a] == f"w:{root}"
