"""Reposts: the same normalised text and hard identifiers within the window count once."""

import pandas as pd

from ownergraph.owners.reposts import MIN_TEXT_CHARS, find_reposts, normalise_text

DAY = 86_400.0
TEXT = "Sweet Nadia here, new in town, call me for a good time"


def ads(rows):
    return pd.DataFrame(rows, columns=["id", "posted_ts", "title", "body"])


def links(rows):
    return pd.DataFrame(rows, columns=["ad", "kind", "hub"])


def pairs(out):
    return sorted(zip(out["src"], out["dst"], strict=True))


def test_normalised_text_ignores_case_punctuation_and_line_breaks():
    assert normalise_text("HELLO!!", "Sweet<br/>Nadia ... here") == "hello sweet nadia here"
    assert normalise_text(None, float("nan")) == ""


def test_same_text_and_identifiers_within_the_window_is_a_repost_of_the_chain_start():
    a = ads([
        ("a1", 0.0, "Nadia", TEXT), ("a2", 10 * DAY, "NADIA", TEXT.upper() + "!!"),
        ("a3", 29 * DAY, "Nadia", TEXT), ("a4", 45 * DAY, "Nadia", TEXT),
        ("a5", 50 * DAY, "Nadia", TEXT), ("a6", None, "Nadia", TEXT),
    ])  # fmt: skip
    # a4 is 45 days after a1, past the 30-day window: a new chain that a5 repeats;
    # the undated a6 repeats the first ad of the last chain
    out = find_reposts(a, links([(i, "phone", "5551234567") for i in a["id"]]))
    assert pairs(out) == [("a2", "a1"), ("a3", "a1"), ("a5", "a4"), ("a6", "a4")]
    assert set(out["method"]) == {"same-text-identifiers-window"}
    assert out["src"].is_monotonic_increasing


def test_other_identifiers_or_short_texts_are_not_reposts():
    a = ads([
        ("a1", 0.0, "Nadia", TEXT), ("a2", DAY, "Nadia", TEXT), ("a3", 2 * DAY, "Nadia", TEXT),
        ("s1", 0.0, "", "x" * (MIN_TEXT_CHARS - 1)), ("s2", DAY, "", "x" * (MIN_TEXT_CHARS - 1)),
    ])  # fmt: skip
    # a1 and a3 show the same two identifiers (in another order), a2 another phone
    ln = links([
        ("a1", "phone", "5551234567"), ("a1", "email", "n@x.com"),
        ("a3", "email", "n@x.com"), ("a3", "phone", "5551234567"), ("a3", "phone", "5551234567"),
        ("a2", "phone", "5559999999"), ("a2", "city", "detroit"),
    ])  # fmt: skip
    assert pairs(find_reposts(a, ln)) == [("a3", "a1")]
    # without identifier links the same texts are reposts of each other
    assert pairs(find_reposts(a)) == [("a2", "a1"), ("a3", "a1")]
    assert find_reposts(a.head(0), ln).empty
