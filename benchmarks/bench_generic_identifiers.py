"""Generic identifiers (ownergraph.owners.generic): found against a synthetic world's truth,
counted on the real sets, and what cutting them does to owner groups.

Synthetic worlds (folders made by ``ownergraph demo --ads N --seed S --out DIR``: the store
``DIR/graph.lbug`` and the truth ``DIR/world``): precision / recall of the detector against
the identifiers whose ads belong to more than one true owner (in the worlds: the shared
booking/agency lines of ``truth/ads.csv`` ``shared_phones``), and owner B-cubed against the
truth in one run: the default without the detector, with it (marked lines split by
style group, or cut), and with the truth's shared lines cut (an oracle upper bound); the
setting is calibrated once, without the detector, as ``find_owners`` does with it.

Real sets (``../shared/data/ads/``, loaded into a fresh embedded store): how many phones and
e-mails the detector checks, marks, and the merges they would make.

    python benchmarks/bench_generic_identifiers.py --world /tmp/w1 --world /tmp/w2
    python benchmarks/bench_generic_identifiers.py --real ca,socal
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ownergraph.evaluate import cluster_scores, load_truth_ads  # noqa: E402
from ownergraph.owners import communities as cm  # noqa: E402
from ownergraph.stages import evidence as evidence_io  # noqa: E402
from ownergraph.stages.owners import find_owners, generic_identifiers, read_ads  # noqa: E402
from ownergraph.store.embedded import EmbeddedStore  # noqa: E402


def _read(store_path: Path, kinds: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = EmbeddedStore(store_path)
    ads, ev = read_ads(s), evidence_io.fetch_evidence(s, kinds)
    s.close()
    return ads, ev


def world(folder: Path) -> None:
    ads, ev = _read(folder / "graph.lbug", cm.KINDS)
    t = load_truth_ads(folder / "world")
    truth = t.set_index("ad_id")["owner_id"]
    shared = {x for v in t["shared_phones"].fillna("") for x in str(v).split(";") if x}
    hard = ev[ev["kind"].isin(cm.HARD_KINDS)].merge(
        t[["ad_id", "owner_id"]], left_on="ad", right_on="ad_id"
    )
    owners = hard.groupby(hard["kind"] + ":" + hard["hub"])["owner_id"].nunique()
    multi = set(owners[owners > 1].index)
    t0 = time.perf_counter()
    marks = generic_identifiers(ads, ev)
    secs = time.perf_counter() - t0
    loose = generic_identifiers(ads, ev, anchored=False)
    lf = set(loose.index[loose["generic"]])
    flagged = set(marks.index[marks["generic"]])
    tp = len(flagged & multi)
    print(
        f"\n## {folder}: {len(ads):,} ads; {len(marks):,} identifiers checked, "
        f"{len(multi)} carried by several true owners "
        f"({len(multi & {f'phone:{p}' for p in shared})} of them the "
        f"truth's shared lines); detector {secs:.0f} s"
    )
    print(
        f"without anchoring: marked {len(lf)}, precision {len(lf & multi) / max(len(lf), 1):.3f}, "
        f"recall {len(lf & multi) / max(len(multi), 1):.3f}"
    )
    print(
        f"anchored (default): marked {len(flagged)}: precision "
        f"{tp / max(len(flagged), 1):.3f}, recall {tp / max(len(multi), 1):.3f}; "
        f"merges they would make {int(marks.loc[marks['generic'], 'merges'].sum())}; "
        f"style threshold {marks.attrs['threshold']:.3f}, "
        f"days threshold {marks.attrs['days_threshold']:.1f}"
    )
    cut = ev[~((ev["kind"] == "phone") & ev["hub"].isin(shared))]
    print("| owners | B-cubed precision | recall | F1 | setting | s |")
    print("|---|---|---|---|---|---|")
    setting = None  # calibrated once, without the detector; the others partition with it
    for name, evidence, gen, treatment in (
        ("default, no detector", ev, False, "cut"),
        ("detector, split by style group", ev, True, "split"),
        ("detector, cut", ev, True, "cut"),
        ("oracle: truth's shared lines cut", cut, False, "cut"),
    ):
        t0 = time.perf_counter()
        found = find_owners(
            ads, evidence, generic=gen, generic_treatment=treatment, setting=setting
        )
        setting = setting or found.setting
        sc = cluster_scores(truth, found.assigned.set_index("ad")["owner"])
        print(
            f"| {name} | {sc['bcubed_precision']:.4f} | {sc['bcubed_recall']:.4f} | "
            f"{sc['bcubed_f1']:.4f} | {found.setting.name} | {time.perf_counter() - t0:.0f} |",
            flush=True,
        )


def real(name: str) -> None:
    import real_ads
    from bench_real_owners import load

    with tempfile.TemporaryDirectory() as tmp:
        ads, ev = _read(load(name, Path(tmp)), cm.HARD_KINDS)
    marks = generic_identifiers(ads, ev, anchored=False)  # the loaded set has no authors
    units = marks["pieces"] + marks["lone_ads"]
    flagged = marks[marks["generic"]]
    print(
        f"\n## {name} ({real_ads.DATA.name}): {len(ads):,} ads; {len(marks):,} phones/e-mails "
        f"on two or more ads; {int((units >= 2).sum())} join two or more groups; "
        f"{int((marks['styles'] >= 2).sum())} show two or more unrelated styles; "
        f"{int((marks['cities'] >= 2).sum())} two or more cities; "
        f"{int((marks['names'] >= 3).sum())} three or more advertised names; "
        f"days threshold {marks.attrs['days_threshold']:.1f}"
    )
    print(
        f"style and time alone would mark: {len(flagged)}, merges they would make "
        f"{int(flagged['merges'].sum())} (anchoring needs Author clusters, wallets or "
        "pictures, which the loaded set lacks: bench_real_owners.py --generic split)"
    )
    cols = ["ads", "pieces", "lone_ads", "styles", "cities", "names", "ages", "days"]
    if len(flagged):
        print(flagged[cols].to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", action="append", default=[], help="a demo output folder")
    ap.add_argument("--real", default="", help="ca, socal, wa (comma-separated)")
    args = ap.parse_args()
    for w in args.world:
        world(Path(w))
    for name in filter(None, args.real.split(",")):
        real(name)


if __name__ == "__main__":
    main()
