"""Generic identifiers (ownergraph.owners.generic): a shared booking line listed by three
unrelated owners is found, marked on its Phone node with its reason, and joins no groups.

The hand-made world: owners A, B and C each post two ads a day apart under their own phone
and write in their own words; each also posts one ad with the shared line S (A and B
beside their own phone, C alone), over 60 days. 24 filler owners post two ads under their
own phone on one day, each in other words (so that the data has enough identifiers to tell
what is usual). Without the detector, S joins A, B and C into one group.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ownergraph.owners import generic as gn
from ownergraph.stages.owners import detect_owners
from ownergraph.store.base import Store

DAY = 86_400
T0 = 1_456_790_400
S = "+17025550100"
WORDS = {
    "A": ("Beach babe", "sunny beach volleyball lover, tanned and sporty, ocean waves"),
    "B": ("Opera diva", "classical piano recitals, elegant wine tasting, velvet gowns"),
    "C": ("Neon gamer", "pink hair, anime marathons, pizza nights, cosplay, joysticks"),
}
FILLER_WORDS = [
    "gardening", "astronomy", "motorcycles", "baking", "chess", "horses", "jazz",
    "yoga", "hiking", "painting", "sushi", "salsa", "poetry", "surfing", "karaoke",
    "skiing", "tennis", "fashion", "cinema", "tattoos", "camping", "boxing", "vinyl",
    "origami",
]  # fmt: skip


def _phone(i: int) -> str:
    return f"+1702555{1000 + i:04d}"


def world(
    second_c: bool = False, lone_line: bool = False
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Ads (id, text, city, time) and phone links (ad, phone). ``second_c``: C posts a
    second ad with only the line (``ct``), in C's words. ``lone_line``: A and B too show
    only the line on their line ad (nothing but style then says they are different)."""
    ads, links = [], []
    for k, (owner, (title, words)) in enumerate(WORDS.items()):
        own = _phone(900 + k)
        start = T0 + k * 30 * DAY
        for j in range(2):
            aid = f"{owner.lower()}{j}"
            ads.append({"id": aid, "title": title, "body": f"{words} {j}",
                        "city": f"City{owner}", "posted_ts": start + j * DAY})  # fmt: skip
            links.append((aid, own))
        aid = f"{owner.lower()}s"
        ads.append({"id": aid, "title": title, "body": f"{words}!",
                    "city": f"City{owner}", "posted_ts": start + 2 * DAY})  # fmt: skip
        links.append((aid, S))
        if owner != "C" and not lone_line:  # A and B show their own phone beside the line
            links.append((aid, own))
        elif second_c:
            ads.append({"id": "ct", "title": title, "body": f"{words}?",
                        "city": f"City{owner}", "posted_ts": start + 3 * DAY})  # fmt: skip
            links.append(("ct", S))
    for i, w in enumerate(FILLER_WORDS):
        for j in range(2):
            aid = f"f{i:02d}{j}"
            ads.append({"id": aid, "title": f"love {w}", "body": f"all about {w} and {w} {j}",
                        "city": "Filler", "posted_ts": T0 + i * DAY + j * 3600})  # fmt: skip
            links.append((aid, _phone(i)))
    return ads, links


def frames(second_c: bool = False) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    ads, links = world(second_c)
    df = pd.DataFrame(ads).sort_values("id").reset_index(drop=True)
    ev = pd.DataFrame(links, columns=["ad", "hub"]).assign(kind="phone", confidence=1.0)
    texts = (df["title"] + "\n" + df["body"]).tolist()
    return df, texts, ev[["ad", "kind", "hub", "confidence"]]


def test_pieces_and_lone_ads() -> None:
    ads = np.array(["x1", "x2", "x3", "x4", "x5"], dtype=object)
    ev = pd.DataFrame(
        {
            "ad": ["x1", "x2", "x2", "x3", "x4", "x5", "x1"],
            "kind": "phone",
            "hub": ["P", "P", "Q", "Q", "H", "H", "H"],
        }  # fmt: skip
    )
    pieces, lone = gn.identifier_pieces(ads, ev)
    # H joins x1 (and through P its group: x1, x2) with x4 and x5, which carry only H
    assert [p.tolist() for p in pieces["phone:H"]] == [[0, 1]]
    assert sorted(lone["phone:H"].tolist()) == [3, 4]
    # P is a cut vertex between x1 (with H's ads) and x2 (with Q's)
    assert sorted(p.tolist() for p in pieces["phone:P"]) == [[0, 3, 4], [1, 2]]
    assert lone["phone:P"].tolist() == []


def test_estimator_thresholds_from_the_data() -> None:
    X = pd.DataFrame(
        {
            "pieces": [0, 1, 0] + [1] * 20,
            "lone_ads": [3, 2, 1] + [0] * 20,
            "days": [70.0, 60.0, 50.0] + [1.0] * 20,  # 0.95 quantile: 59
            "compared": [3, 3, 1] + [2] * 20,
            "style_links": [
                np.array([[0, 1, 0.1], [0, 2, 0.05], [1, 2, 0.9]]),  # two styles
                np.array([[0, 1, 0.9], [0, 2, 0.95], [1, 2, 0.9]]),  # one style
                None,
            ]
            + [np.array([[0, 1, 1.0]])] * 20,
            "ads": 3,
            "cities": 1,
            "names": 1,
        }  # fmt: skip
    )
    det = gn.GenericIdentifiers(quantile=0.5, days_quantile=0.95).fit(X, null=[0.2, 0.4, 0.6])
    assert det.threshold_ == pytest.approx(0.4)
    assert det.days_threshold_ == pytest.approx(59.0)
    assert det.styles(X)[:3].tolist() == [2, 1, 1]
    assert det.predict(X).tolist() == [True] + [False] * 22
    assert "2 unrelated styles" in det.reasons(X).iloc[0]
    # too few identifiers to tell what is usual: nothing is marked
    few = gn.GenericIdentifiers(quantile=0.5).fit(X.head(5), null=[0.2, 0.4, 0.6])
    assert not few.predict(X.head(5)).any()


def test_find_generic_marks_the_shared_line() -> None:
    ads, texts, ev = frames()
    from ownergraph.identifier_labels import identifier_components

    comp = identifier_components(ads["id"].to_numpy(object), ev)
    f = gn.find_generic(ads, texts, ev, comp)
    assert f.index[f["generic"]].tolist() == [f"phone:{S}"]
    row = f.loc[f"phone:{S}"]
    assert (row["pieces"], row["lone_ads"], row["styles"], row["merges"]) == (2, 1, 3, 2)
    assert row["days"] == 60.0  # first ad of A to last of C, 30 days apart each


def test_style_split_groups_the_lines_ads_that_write_alike() -> None:
    ads, texts, ev = frames(second_c=True)
    from ownergraph.identifier_labels import identifier_components
    from ownergraph.stages.owners import split_generic

    comp = identifier_components(ads["id"].to_numpy(object), ev)
    f = gn.find_generic(ads, texts, ev, comp)
    assert f.index[f["generic"]].tolist() == [f"phone:{S}"]
    row = f.loc[f"phone:{S}"]
    assert (row["pieces"], row["lone_ads"], row["styles"], row["merges"]) == (2, 2, 3, 3)
    groups = row["style_groups"]
    assert sorted(groups) == ["as", "bs", "cs", "ct"]  # the ads that carry the line
    assert groups["cs"] == groups["ct"]  # C's two ads write alike
    assert len({groups["as"], groups["bs"], groups["cs"]}) == 3
    split = split_generic(ev, f)
    hubs = split.set_index("ad").loc[["as", "bs", "cs", "ct"]]
    hubs = hubs[hubs["hub"].str.startswith(S)]["hub"]
    assert hubs["cs"] == hubs["ct"] == f"{S}~s{groups['cs']}"
    assert hubs.nunique() == 3
    # every other link is untouched
    rest = ~ev["hub"].eq(S)
    assert split[rest].equals(ev[rest])


def test_unknown_treatment_is_refused() -> None:
    from ownergraph.stages.owners import find_owners

    ads, _, ev = frames()
    with pytest.raises(ValueError, match="unknown generic treatment 'soft'"):
        find_owners(ads, ev, generic=True, generic_treatment="soft")


def write_world(
    store: Store, second_c: bool = False, lone_line: bool = False, authors: bool = False
) -> None:
    ads, links = world(second_c, lone_line)
    store.upsert_nodes(
        "Ad",
        [{**a, "state": "NV", "category": "escorts", "post_kind": "post", "sponsored": False,
          "n_locations": 1} for a in ads],
    )  # fmt: skip
    store.upsert_nodes(
        "Phone", [{"number": p, "region": "US"} for p in sorted({p for _, p in links})]
    )
    store.upsert_edges(
        "HAS_PHONE", [{"src": a, "dst": p, "method": "plain", "confidence": 1.0} for a, p in links]
    )
    if authors:  # A's and B's ads, the line ad too, each in an Author cluster of their own
        store.upsert_nodes("Author", [{"id": "xa", "size": 3}, {"id": "xb", "size": 3}])
        store.upsert_edges(
            "WRITTEN_BY",
            [{"src": f"{o}{j}", "dst": f"x{o}", "method": "stylometry", "confidence": 0.9}
             for o in "ab" for j in ("0", "1", "s")],
        )  # fmt: skip


def _groups(store: Store) -> dict[str, str]:
    rows = store.query("MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) RETURN a.id AS ad, o.id AS owner")
    return {r["ad"]: r["owner"] for r in rows}


def test_detect_owners_cuts_and_marks_the_generic_line(store: Store) -> None:
    write_world(store)
    off = detect_owners(store, generic=False)
    g = _groups(store)
    assert g["a0"] == g["bs"] == g["cs"]  # the shared line joins A, B and C
    assert off.generic == {}
    on = detect_owners(store, generic=True)
    g = _groups(store)
    assert {g["a0"], g["a1"], g["as"]} == {g["a0"]}
    assert len({g["a0"], g["b0"], g["c0"]}) == 3  # A, B and C apart
    assert g["bs"] == g["b0"] and g["cs"] != g["c0"]  # cs shows only the line: alone
    assert on.generic["marked"] == 1
    assert on.generic["merges_prevented"] == 2
    rows = store.query(
        "MATCH (p:Phone) WHERE p.generic = true RETURN p.number AS n, p.generic_reason AS r"
    )
    assert [r["n"] for r in rows] == [S]
    assert "3 unrelated styles" in rows[0]["r"]
    ordinary = store.query("MATCH (p:Phone {number: $n}) RETURN p.generic AS g", {"n": _phone(900)})
    assert ordinary == [{"g": False}]


@pytest.mark.parametrize("treatment", ["split", "cut"])
def test_split_keeps_the_line_only_between_ads_that_write_alike(
    store: Store, treatment: str
) -> None:
    write_world(store, second_c=True)
    on = detect_owners(store, generic=True, generic_treatment=treatment)
    g = _groups(store)
    assert {g["a0"], g["a1"], g["as"]} == {g["a0"]}
    assert {g["b0"], g["b1"], g["bs"]} == {g["b0"]}
    assert len({g["a0"], g["b0"], g["c0"], g["cs"]}) == 4  # A, B, C and the line's C ads
    assert g["c0"] == g["c1"]
    # split: C's two ads with only the line write alike and stay joined; cut: both alone
    assert (g["cs"] == g["ct"]) == (treatment == "split")
    assert (on.generic["marked"], on.generic["merges_prevented"]) == (1, 3)
    assert on.owners == (4 if treatment == "split" else 5) + 24  # 24 filler owners


@pytest.mark.parametrize("authors", [False, True])
def test_a_line_on_lone_ads_is_marked_only_when_other_evidence_anchors_them(
    store: Store, authors: bool
) -> None:
    """S on three ads that carry nothing else, in three styles: style alone does not mark
    it (one owner may write in several templates); with Author clusters that tie A's and
    B's line ads to their own phones' ads, two of its styles are anchored and it is."""
    write_world(store, lone_line=True, authors=authors)
    on = detect_owners(store, generic=True)
    g = _groups(store)
    assert on.generic["marked"] == int(authors)
    # hard identifiers only here (too few labelled ads to calibrate soft evidence)
    assert (len({g["as"], g["bs"], g["cs"]}), g["as"] == g["a0"]) == (3 if authors else 1, False)
    rows = store.query("MATCH (p:Phone {number: $n}) RETURN p.generic AS g, p.generic_reason AS r",
                       {"n": S})  # fmt: skip
    assert rows[0]["g"] is authors
    assert ("2 of these styles belong to groups" in rows[0]["r"]) is authors


def test_an_update_keeps_a_marked_line_within_its_previous_groups(store: Store) -> None:
    """The daily update re-partitions some groups without the style groups: a stored
    generic line joins only ads of one previous group; a new ad with it is not joined."""
    from ownergraph.stages.owner_history import previous_owners
    from ownergraph.stages.owners import split_by_previous_groups

    write_world(store, second_c=True)
    detect_owners(store)  # the default marks S and splits it
    prev = previous_owners(store)
    owner = prev.set_index("ad")["owner"]
    ev = pd.DataFrame(
        {"ad": ["as", "cs", "ct", "new", "a0"], "kind": "phone",
         "hub": [S, S, S, S, _phone(900)], "confidence": 1.0}
    )  # fmt: skip
    out = split_by_previous_groups(store, ev, prev)
    assert out["hub"].tolist() == [
        f"{S}~o{owner['as']}",
        f"{S}~o{owner['cs']}",
        f"{S}~o{owner['ct']}",
        f"{S}~anew",
        _phone(900),
    ]
    assert owner["cs"] == owner["ct"] != owner["as"]


def test_cli_detect_and_show_the_mark(tmp_path) -> None:
    from typer.testing import CliRunner

    from ownergraph.cli import app
    from ownergraph.store.embedded import EmbeddedStore

    path = tmp_path / "g.lbug"
    s = EmbeddedStore(path)
    s.init_schema()
    write_world(s)
    s.close()
    runner = CliRunner()
    res = runner.invoke(app, ["owners", "detect", "--generic", "--json", "--store", str(path)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert (summary["generic"]["marked"], summary["generic"]["merges_prevented"]) == (1, 2)
    s = EmbeddedStore(path)
    owner = _groups(s)["a0"]
    s.close()
    res = runner.invoke(app, ["owners", "show", owner, "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert "yes: joins 3 groups" in " ".join(res.output.split())
