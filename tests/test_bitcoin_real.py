"""Wallet heuristics on real data (../shared/data/bitcoin; skipped when absent).

Real mainnet CoinJoins must be flagged, real blocks' flags are the mixes read one by one
(listed in the README), the library on the loader's tables and the graph path give the
same wallets, and the CoinJoin guard prevents every wrong merge on the emulated chains
with true owners.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ownergraph.linking.coinjoin import detect_coinjoins
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import load_bitcoin
from ownergraph.loaders.bitcoin_dumplings import dumplings_tables, iter_dumplings_zip
from ownergraph.loaders.bitcoin_emulation import iter_emulation_runs
from ownergraph.stages.bitcoin import cluster_wallets, write_bitcoin

# What the rules flag on the real blocks, read one by one (see the README).
FLAGGED = {
    "block413567.raw": {
        "79150a157185d883955fc9489247198a976c665b5a18127b2be64d80ce4b6bef": "joinmarket",
        "d5e8c0fa8848f8c20ec615a898ebfb150d0b99a5fead01ee01d2a3f0b9bea118": "joinmarket",
    },
    "block702861_segwit.raw": {
        "5c2f55fc17854a18f447d74e32356c9ff6faf43bf937ed13611857b2bb3fef3a": "wasabi1",
        **{
            t: "whirlpool"
            for t in (
                "118970792f15cdb90645be0d265ba6c04ab3f3d36a16efe2c4b97801a730b3fa",
                "c31d23f5e8b881bc3339a918e71cadc4622f73c5a1f68aadd4741e0da7e66756",
                "c57e3e496a6bb496498b54632b2637472c59feb7a3b0485121140425f115cb51",
                "cba457a11d9674afa95ba12187306d70978baf6396c5ee476272ea41670e8ae2",
                "d6b212a663c85b03fb391fe69c59520e61b8a5970678ef7f376889a145e215a6",
                "e2e92bcdca6104f82deaa31f221d71c47cfdcebe64db924484be98dd9662d29b",
                "f35a8cdd9b490213af78692c2bb88dcf17dae0649447c94786f59e3a884cb2ce",
            )
        },
    },
}


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Path:
    return shared_data / "bitcoin"


@pytest.mark.parametrize(
    "zip_name, member, share, kind",
    [
        ("dumplings__sw_202403.zip", "SamouraiCoinJoins.txt", 1.0, "whirlpool"),
        ("dumplings__ww1_202405.zip", "WasabiCoinJoins.txt", 1.0, "wasabi1"),
        ("dumplings__end_zksnacks_202405.zip", "WasabiCoinJoins.txt", 1.0, "wasabi1"),
        ("dumplings__end_zksnacks_202405.zip", "Wasabi2CoinJoins.txt", 0.94, "wasabi2"),
    ],
)
def test_real_coinjoins_are_flagged(btc: Path, zip_name, member, share, kind):
    lines = dict(iter_dumplings_zip(btc / "coinjoins" / zip_name))[f"Scanner/{member}"]
    txs, inputs, outputs = dumplings_tables(lines)
    kinds = detect_coinjoins(inputs, outputs, txs).reindex(txs["txid"])
    assert (kinds != "").mean() >= share
    assert kinds[kinds != ""].eq(kind).all()


@pytest.mark.parametrize("name", sorted(FLAGGED))
def test_real_block_flags_and_graph_path_agree(btc: Path, name: str, embedded_store):
    t = load_bitcoin([btc / name], verify_merkle=False)
    lib = WalletClusterer(change_heuristic=True).fit(t.inputs, t.outputs, t.txs)
    assert dict(lib.coinjoin_kind_[lib.coinjoin_kind_ != ""]) == FLAGGED[name]
    write_bitcoin(embedded_store, t)
    graph = WalletClusterer(change_heuristic=True)
    counts = cluster_wallets(embedded_store, graph)
    assert counts.change_links == lib.n_edges_["change"] > 0
    assert graph.labels_.sort_index().astype(str).equals(lib.labels_.sort_index().astype(str))


def test_guard_prevents_wrong_merges_on_emulated_coinjoins(btc: Path, tmp_path: Path):
    runs = 0
    for z in sorted((btc / "coinjoins").glob("emul__*.zip")):
        for run in iter_emulation_runs(z, tmp_path / z.stem):
            runs += 1
            t = load_bitcoin(run.blocks)
            for change in (False, True):
                merged = []
                for guard in (True, False):
                    c = WalletClusterer(change_heuristic=change, coinjoin_guard=guard)
                    labels = c.fit(t.inputs, t.outputs, t.txs).labels_
                    lab = labels.reindex(run.owners.index).dropna()
                    owners = run.owners.reindex(lab.index)
                    per = owners.groupby(lab.to_numpy()).nunique()
                    merged.append(int((per > 1).sum()))
                assert merged[0] == 0 and merged[1] > 0, (run.name, change, merged)
    assert runs == 3
