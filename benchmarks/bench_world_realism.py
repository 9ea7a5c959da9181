"""Is the synthetic world hard? Owner B-cubed F1 of single-evidence groupings.

Generates a default world (or reads ``--world DIR``) and scores, with ownergraph.evaluate,
groupings made from one kind of evidence at a time and from their union:

- phones (truth phones in the text; and phones the identifiers extractor finds),
- phones + e-mails (the hard identifiers),
- plain TF-IDF character n-gram cosine, connected components above a threshold,
- hard identifiers + wallets (ads paid from the same true wallet),
- hard identifiers + wallets + the true authors (an oracle for stylometry: shows that the
  evidence to reach the owners exists in the world),
- hard identifiers + wallets + TF-IDF (a realistic union without a trained model).

Usage: python benchmarks/bench_world_realism.py [--ads 20000] [--seed 7] [--world DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.evaluate import cluster_scores, groups_recovered, recovery_summary
from ownergraph.synth import generate_world

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given edges (a, b)."""
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def key_edges(n_ads: int, ad_idx: np.ndarray, keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Edges ad -> key node (keys get node numbers after the ads)."""
    codes, uniq = pd.factorize(keys)
    return ad_idx, n_ads + codes, len(uniq)


def grouping(ads: pd.DataFrame, edge_sets: list[tuple[np.ndarray, np.ndarray, int]]) -> pd.Series:
    n = len(ads)
    extra = sum(k for _, _, k in edge_sets)
    a_parts, b_parts = [np.arange(0)], [np.arange(0)]
    offset = n
    for a, b, k in edge_sets:
        a_parts.append(a)
        b_parts.append(b - n + offset)
        offset += k
    lab = components(n + extra, np.concatenate(a_parts), np.concatenate(b_parts))
    return pd.Series(lab[:n], index=ads["ad_id"].to_numpy())


def explode(ads: pd.DataFrame, col: str) -> tuple[np.ndarray, pd.Series]:
    s = ads[col].fillna("").astype(str).str.split(";").explode()
    s = s[s != ""]
    return s.index.to_numpy(), s


def tfidf_pairs(
    text: list[str], threshold: float, max_df: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of texts whose TF-IDF char n-gram cosine is >= threshold (exact)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        min_df=2,
        max_df=max_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    m = vec.fit_transform(text).tocsr()
    mt = m.T.tocsr()
    rows, cols, vals = [], [], []
    for s in range(0, m.shape[0], 1000):
        blk = (m[s : s + 1000] @ mt).tocoo()
        r = blk.row + s
        keep = (blk.data >= threshold) & (r < blk.col)
        rows.append(r[keep])
        cols.append(blk.col[keep])
        vals.append(blk.data[keep])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ads", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--world", type=Path, default=None)
    ap.add_argument("--no-extractor", action="store_true")
    ap.add_argument(
        "--max-df",
        type=float,
        default=0.1,
        help="TF-IDF: ignore n-grams in more than this share of ads (1.0 = keep all; "
        "exact but several times slower)",
    )
    args = ap.parse_args()

    tmp = None
    world = args.world
    if world is None or not (world / "truth" / "ads.csv").exists():
        if world is None:
            tmp = tempfile.TemporaryDirectory()
            world = Path(tmp.name)
        t0 = time.perf_counter()
        generate_world(world, args.ads, seed=args.seed)
        print(f"generated {args.ads} ads in {time.perf_counter() - t0:.1f} s -> {world}")

    truth = pd.read_csv(world / "truth" / "ads.csv", dtype={"ad_id": str}, keep_default_na=False)
    raw = pd.read_json(world / "ads.jsonl", lines=True, dtype={"id": str})
    ads = truth.merge(raw[["id", "title", "body"]], left_on="ad_id", right_on="id")
    assert len(ads) == len(truth)
    pays = pd.read_csv(world / "truth" / "payments.csv", dtype={"ad_id": str})
    owner_truth = pd.Series(ads["owner_id"].to_numpy(), index=ads["ad_id"].to_numpy())
    kinds = ads.drop_duplicates("owner_id").set_index("owner_id")["owner_kind"]
    n = len(ads)

    print(
        f"ads {n}, owners {ads.owner_id.nunique()} "
        f"(operations {int((kinds == 'operation').sum())}, "
        f"{(ads.owner_kind == 'operation').mean():.1%} of ads), "
        f"ads with a phone {(ads.phones != '').mean():.1%}, with an e-mail "
        f"{(ads.emails != '').mean():.1%}, with neither "
        f"{((ads.phones == '') & (ads.emails == '')).mean():.1%}, paid in BTC "
        f"{(ads.paid_btc.astype(str) == 'True').mean():.1%}"
    )

    pi, ps = explode(ads, "phones")
    ei, es = explode(ads, "emails")
    phones = key_edges(n, pi, ps)
    emails = key_edges(n, ei, es)
    ad_pos = pd.Series(np.arange(n), index=ads["ad_id"].to_numpy())
    wal = pays[["ad_id", "wallet_id"]]
    wallets = key_edges(n, ad_pos.loc[wal["ad_id"]].to_numpy(), wal["wallet_id"])
    authors = key_edges(n, np.arange(n), ads["author_id"])

    rows: list[tuple[str, dict]] = []

    def score(name: str, pred: pd.Series) -> None:
        sc = cluster_scores(owner_truth, pred)
        rec = recovery_summary(groups_recovered(owner_truth, pred, threshold=0.9, kind=kinds))
        sc.update(rec)
        rows.append((name, sc))

    score("phones (truth)", grouping(ads, [phones]))
    score("phones + e-mails (truth)", grouping(ads, [phones, emails]))

    if not args.no_extractor:
        try:
            from ownergraph.loaders import identifiers
        except ImportError:
            identifiers = None
        if identifiers is not None:
            t0 = time.perf_counter()
            ext_p, ext_e = [], []
            for i, (title, body) in enumerate(zip(ads["title"], ads["body"], strict=True)):
                text = f"{title}\n{body}"
                for m in identifiers.extract_phones(text, "US"):
                    ext_p.append((i, m.e164))
                for m in identifiers.extract_emails(text):
                    ext_e.append((i, m.address))
            dt = time.perf_counter() - t0
            xp = pd.DataFrame(ext_p, columns=["i", "k"])
            xe = pd.DataFrame(ext_e, columns=["i", "k"])
            true_p = set(zip(pi.tolist(), ps.tolist(), strict=True))
            got_p = set(zip(xp["i"].tolist(), xp["k"].tolist(), strict=True))
            tp = len(true_p & got_p)
            print(
                f"identifiers extractor on this world ({dt:.1f} s): phone precision "
                f"{tp / max(len(got_p), 1):.3f} recall {tp / max(len(true_p), 1):.3f} "
                f"({len(got_p)} found, {len(true_p)} true ad-phone pairs)"
            )
            xph = key_edges(n, xp["i"].to_numpy(), xp["k"])
            xem = key_edges(n, xe["i"].to_numpy(), xe["k"])
            score("phones (extracted)", grouping(ads, [xph]))
            score("phones + e-mails (extracted)", grouping(ads, [xph, xem]))

    # plain TF-IDF char n-grams, cosine, connected components above a threshold
    t0 = time.perf_counter()
    text = (ads["title"] + " \n " + ads["body"]).to_list()
    gr, gc, gv = tfidf_pairs(text, min(THRESHOLDS), args.max_df)
    print(
        f"TF-IDF (char_wb 3-5, max_df={args.max_df}): {len(gr)} pairs with cosine >= "
        f"{min(THRESHOLDS)} in {time.perf_counter() - t0:.1f} s"
    )
    best = None
    for th in THRESHOLDS:
        keep = gv >= th
        lab = components(n, gr[keep], gc[keep])
        pred = pd.Series(lab, index=ads["ad_id"].to_numpy())
        score(f"TF-IDF cosine >= {th}", pred)
        f1 = rows[-1][1]["bcubed_f1"]
        if best is None or f1 > best[1]:
            best = (th, f1, gr[keep], gc[keep])

    score("phones + e-mails + wallets", grouping(ads, [phones, emails, wallets]))
    score(
        "phones + e-mails + wallets + true authors",
        grouping(ads, [phones, emails, wallets, authors]),
    )
    th, _, br, bc = best
    tf_edges = (br, bc, 0)

    # union with the best TF-IDF edges (ad-ad edges: map into the same node space)
    def with_tfidf(sets: list) -> pd.Series:
        base = grouping(ads, sets)
        codes = pd.factorize(base)[0]
        lab = components(
            n + codes.max() + 1,
            np.concatenate([np.arange(n), tf_edges[0]]),
            np.concatenate([n + codes, tf_edges[1]]),
        )
        return pd.Series(lab[:n], index=ads["ad_id"].to_numpy())

    score(f"phones + e-mails + wallets + TF-IDF >= {th}", with_tfidf([phones, emails, wallets]))

    print()
    hdr = (
        f"{'grouping':48s} {'B3 P':>6s} {'B3 R':>6s} {'B3 F1':>6s} {'pw P':>6s} {'pw R':>6s} "
        f"{'groups':>7s} {'owners rec.':>11s} {'ops rec.':>9s}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, sc in rows:
        ops = f"{sc.get('operation_recovered', 0)}/{sc.get('operation_groups', 0)}"
        print(
            f"{name:48s} {sc['bcubed_precision']:6.3f} {sc['bcubed_recall']:6.3f} "
            f"{sc['bcubed_f1']:6.3f} {sc['pairwise_precision']:6.3f} "
            f"{sc['pairwise_recall']:6.3f} {sc['n_pred_groups']:7d} "
            f"{sc['recovered']:5d}/{sc['groups']:<5d} {ops:>9s}"
        )
    print("(owners rec. = owners whose best predicted group is >= 90% pure and complete)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
