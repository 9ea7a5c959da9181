"""The ads stage's fast paths give exactly what the per-character loops give.

``text_indicators.clean`` and the loader's text check skip their per-character loop when
``str.isprintable`` says no character is of category C; these properties compare them
with the loops on arbitrary Unicode, control characters, surrogates and line breaks."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.loaders.ads import _text, phone_region
from ownergraph.text_indicators import clean

# every kind of character the checks distinguish, arbitrary ones beside them
_CHARS = st.one_of(
    st.characters(codec=None),
    # controls, line breaks, format, surrogates, private use, separators, unassigned
    st.sampled_from(list("\n\r\t\x00\x1f\x7f\x85\u200b\u00ad\ud800\udfff\ue000\u2028\u00a0")),
    st.sampled_from(["\u3000", "\U000e0001", "\u0378"]),
)
_TEXTS = st.text(_CHARS, max_size=40)


def _clean_loop(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"<br\s*/?>", "\n", s, flags=re.I)
    return "".join(c if (c == "\n" or unicodedata.category(c)[0] != "C") else " " for c in s)


def _text_loop(v: str) -> str | None:
    if not v.strip():
        return None
    for ch in v:
        if ch in "\n\r\t":
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            raise ValueError(f"body: control character U+{ord(ch):04X}")
        if cat == "Cs":
            raise ValueError("body: lone surrogate (invalid Unicode)")
    return v


@settings(max_examples=3000, derandomize=True)
@given(_TEXTS)
def test_clean_equals_the_per_character_loop(text: str) -> None:
    assert clean(text) == _clean_loop(text)


@settings(max_examples=3000, derandomize=True)
@given(_TEXTS)
def test_text_check_equals_the_per_character_loop(v: str) -> None:
    try:
        want: str | None | Exception = _text_loop(v)
    except ValueError as exc:
        want = exc
    try:
        got: str | None | Exception = _text("body", v)
    except ValueError as exc:
        got = exc
    assert type(got) is type(want) and str(got) == str(want)


@pytest.mark.parametrize(
    ("e164", "region"), [("+12125551234", "US"), ("+442079460018", "GB"), ("+999", None)]
)
def test_phone_region_cached_answers_stay_right(e164: str, region: str | None) -> None:
    assert phone_region(e164) == region
    assert phone_region(e164) == region  # second call from the cache
