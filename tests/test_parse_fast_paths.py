"""The parse stage's keyword prefilters and shared work give exactly what the plain
searches give.

``text_indicators`` skips a case-insensitive keyword rule when the lower-cased text holds
none of its words (and no character re.I folds onto an ASCII letter); these properties
compare every rule with its plain search on arbitrary Unicode and on texts built from
matches of the rules, re-cased and with look-alike letters (İ, ı, ſ, K) swapped in.
Digit-only tokens are read without the unit loop, and phones and e-mails share one
``normalize``: both compared with the long way."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph import text_indicators as T
from ownergraph.loaders import deobfuscate as D
from ownergraph.loaders import identifiers as I

_PATTERNS = list(T._WORDS)
_ODD_SWAPS = {"i": "\u0130\u0131", "I": "\u0130\u0131", "s": "\u017f", "S": "\u017f",
              "k": "\u212a", "K": "\u212a"}  # fmt: skip
# letters the rules are read with and their look-alikes: full-width, mathematical, Turkish
_LETTERS = "aeiknorstyAEIKNORSTY\u0130\u0131\u017f\u212a\uff41\uff29\U0001d422\u00e9\u0307"


@st.composite
def _variant(draw: st.DrawFn, s: str) -> str:
    """``s`` with some letters swapped for what re.I also matches to them."""
    out = []
    for c in s:
        if c in _ODD_SWAPS and draw(st.integers(0, 7)) == 0:
            c = draw(st.sampled_from(_ODD_SWAPS[c]))
        out.append(c)
    return "".join(out)


def _piece(pat: re.Pattern[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(pat, fullmatch=True).flatmap(_variant),
        st.sampled_from(T._WORDS[pat]).flatmap(_variant),
        st.text(st.sampled_from(_LETTERS + " '\n.-12"), max_size=6),
        st.text(st.characters(codec=None), max_size=6),
    )


_TEXTS = st.one_of(
    st.text(st.characters(codec=None), max_size=40),
    st.lists(st.one_of(*map(_piece, _PATTERNS)), max_size=6).map("".join),
    st.lists(st.one_of(*map(_piece, _PATTERNS)), max_size=6).map(" ".join),
)


def _same(got: re.Match[str] | None, want: re.Match[str] | None) -> bool:
    if got is None or want is None:
        return got is want
    return got.span() == want.span() and got.groups() == want.groups()


def test_only_these_non_ascii_characters_match_ascii_under_ignorecase() -> None:
    """The prefilters' premise, over every code point: re.I matches a letter, digit, space
    or apostrophe (all the prefilter words are made of) to no other non-ASCII character."""
    assert all(re.fullmatch(r"[a-z0-9 ']+", w) for ws in T._WORDS.values() for w in ws)
    cls = re.compile(r"[a-z0-9 '@]", re.I)  # "@": the e-mail exit's premise too
    odd = {chr(cp) for cp in range(0x80, 0x110000) if cls.fullmatch(chr(cp))}
    assert odd == set(T._CASE_ODD)


@settings(max_examples=3000, derandomize=True)
@given(_TEXTS)
def test_prefiltered_searches_equal_the_plain_searches(text: str) -> None:
    low, odd = text.lower(), T._case_odd(text)
    for pat in _PATTERNS:
        assert _same(T._search(pat, text, low, odd), pat.search(text)), pat.pattern[:40]


_EDGES = st.one_of(st.just(""), st.text(st.sampled_from(_LETTERS + " '\n.-1"), max_size=3))


@pytest.mark.parametrize("pat", _PATTERNS, ids=lambda p: p.pattern[6:20])
@settings(max_examples=1000, derandomize=True)
@given(data=st.data())
def test_each_rule_alone_equals_its_plain_search(pat: re.Pattern[str], data: st.DataObject) -> None:
    """One match of the rule (re-cased, look-alikes swapped in) between a few characters."""
    match = data.draw(st.from_regex(pat, fullmatch=True).flatmap(_variant))
    text = data.draw(_EDGES) + match + data.draw(_EDGES)
    low, odd = text.lower(), T._case_odd(text)
    assert _same(T._search(pat, text, low, odd), pat.search(text))


def _incall_key_plain(text: str) -> str | None:
    for pat in (T._STREET, T._HOTEL, T._INCALL_PLACE):
        m = pat.search(text)
        if m:
            return re.sub(r"\s+", " ", m.group(1).lower()).strip()
    return None


@settings(max_examples=1000, derandomize=True)
@given(_TEXTS, _TEXTS)
def test_extract_equals_the_plain_searches(title: str, body: str) -> None:
    got = T.extract(title, body)
    text = f"{T.clean(title)}\n{T.clean(body)}"
    for name, pat in (("third_person", T._THIRD_PERSON), ("new_in_town", T._NEW_IN_TOWN),
                      ("several_women", T._SEVERAL_WOMEN), ("youth", T._YOUTH)):  # fmt: skip
        m = pat.search(text)
        assert getattr(got, name) == (m is not None)
        assert got.evidence.get(name) == (m.group(0) if m else None)
    assert got.incall == _incall_key_plain(text) == T.incall_key(text)
    assert got.ethnicities == T.ethnicities(text)


# ---------------------------------------------------------------- identifiers

_ID_CHARS = st.one_of(
    st.characters(codec=None),
    st.sampled_from(list("0123456789 -.()@*xX!|oOlIi\n\u0660\uff10\u2460\ufe0f\u20e3\uff20")),
    st.sampled_from(["at", "dot", " at ", "(at)", "[dot]", "com", "five", "oh", "gmail", "www."]),
    st.sampled_from(["mia (AT) gmail (dot) com", "x At y DOT com", "z [aT] ex . net", "a@b.co"]),
)
_ID_TEXTS = st.lists(_ID_CHARS, max_size=40).map("".join)


@settings(max_examples=3000, derandomize=True)
@given(st.one_of(st.text(st.sampled_from("0123456789"), min_size=1, max_size=12), _ID_TEXTS))
def test_read_token_digits_fast_path_equals_the_unit_loop(tok: str) -> None:
    for allow_weak in (True, False):
        assert D._read_token(tok, allow_weak) == D._read_units(tok, allow_weak)


@settings(max_examples=2000, derandomize=True)
@given(_ID_TEXTS)
def test_extract_identifiers_equals_phones_and_emails_apart(text: str) -> None:
    """One ``normalize`` shared by both gives what each extractor gives alone."""
    got = I.extract_identifiers(text)
    assert (got.phones, got.emails) == (I.extract_phones(text), I.extract_emails(text))


@settings(max_examples=3000, derandomize=True)
@given(_ID_TEXTS)
def test_emails_exit_without_at_equals_the_full_search(text: str) -> None:
    norm = D.normalize(text, mask_urls=False)
    assert I._emails(norm) == I._find_emails(norm)
