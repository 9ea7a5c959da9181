"""Text indicators: each rule on hand-written ad text (no real ad text in the repo)."""

from __future__ import annotations

import pandas as pd

from ownergraph.text_indicators import (
    RULES_VERSION,
    ad_properties,
    clean,
    extract,
    extract_frame,
    incall_key,
    stored_or_extracted,
)


def test_names_from_cues_signature_and_spaced_letters() -> None:
    body = "Hey guys my name is Kendra. Call now!\nL A Y L A 702-555-0199"
    got = extract("Sweet treat - 22", body)
    assert got.names == ("Kendra", "Layla")
    # a common word after a cue is not a name
    assert extract("", "I'm Available now and I'm Looking for fun").names == ()


def test_several_names_with_ages() -> None:
    got = extract("3 girls", "Michelle 20, Jaki 19, Ashley 18, we are waiting")
    assert got.names == ("Michelle", "Jaki", "Ashley")
    assert set(got.ages) == {18, 19, 20}
    assert got.several_women


def test_ages_title_suffix_and_phrases_not_heights_or_prices() -> None:
    assert extract("Fun girl - 24", "I'm 5'4 and 120lbs, $60 special, 30 min").ages == (24,)
    assert extract("", "just turned 19 yrs old").ages == (19,)
    assert extract("", "age: 17").ages == ()  # outside 18-65: not an advertised adult age


def test_ethnicities_canonical() -> None:
    assert extract("LATiNA hottie", "Puerto Rican and ebony mix").ethnicities == (
        "latina",
        "puerto rican",
        "black",
    )


def test_flags_with_their_words() -> None:
    got = extract("New in town!", "She is sweet, ask for her. Young and fresh. 2 girl special")
    assert got.third_person and got.new_in_town and got.youth and got.several_women
    assert got.evidence["new_in_town"].lower() == "new in town"
    plain = extract("Hi", "I am independent, outcall only")
    assert not (plain.third_person or plain.new_in_town or plain.several_women or plain.youth)


def test_incall_key() -> None:
    assert incall_key("incall at 1200 W Main St tonight") == "1200 w main st"
    assert incall_key("incall near the airport") == "near the airport"
    assert incall_key("outcall only") is None


def test_clean_drops_control_characters() -> None:
    assert clean("a\x00b\x1fc<br>d") == "a b c\nd"
    assert clean(None) == "" and clean(float("nan")) == ""


def test_extract_frame_one_row_per_ad() -> None:
    ads = pd.DataFrame({"id": ["1", "2"], "title": ["x", None], "body": ["I'm Nova", None]})
    f = extract_frame(ads)
    assert list(f.index) == ["1", "2"]
    assert f.loc["1", "text_names"] == ("Nova",) and f.loc["2", "text_names"] == ()


ADS = pd.DataFrame(
    {
        "id": ["1", "2", "3", "4"],
        "title": ["New in town - 22", "3 girls", None, "Hi"],
        "body": [
            "my name is Kendra, latina. incall at 1200 W Main St",
            "Michelle 20, Jaki 19, Ashley 18, we are waiting. She is sweet",
            "L A Y L A 702-555-0199",
            "I am independent, outcall only",
        ],
    }
)


def _props() -> pd.DataFrame:
    pairs = zip(ADS["title"], ADS["body"], strict=True)
    return pd.DataFrame([ad_properties(t, b) for t, b in pairs])


def test_stored_properties_give_what_the_text_gives() -> None:
    want = extract_frame(ADS).drop(columns="evidence")
    stored = ADS.assign(**_props())
    # the text is not read when current properties are stored: blank it to show that
    got = stored_or_extracted(stored.assign(title=None, body=None))
    pd.testing.assert_frame_equal(_same(got), _same(want))
    assert got.loc["1", "text_names"] == ("Kendra",) and got.loc["1", "incall"]


def test_ads_without_current_properties_are_read_from_the_text() -> None:
    props = _props().astype(object)
    props.loc[1, "text_rules"] = RULES_VERSION - 1  # stored under older rules
    props.loc[2, :] = None  # loaded before the properties existed
    props.loc[[1, 2], "text_names"] = "Wrong"
    got = stored_or_extracted(ADS.assign(**props))
    pd.testing.assert_frame_equal(_same(got), _same(extract_frame(ADS).drop(columns="evidence")))


def _same(df: pd.DataFrame) -> pd.DataFrame:
    """Missing is None, values as Python objects (stored and read frames differ in dtype)."""
    df = df.astype(object)
    return df.where(df.notna(), None)
