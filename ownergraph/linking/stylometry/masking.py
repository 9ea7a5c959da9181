"""Remove identifiers (phones, e-mails, URLs, handles) from ad text before any feature.

If an identifier stayed in the text, a same-author model trained on pairs labelled by
shared identifiers would simply learn to read the label. Masking is therefore
deliberately greedy: every chain of 7+ digits (ASCII, Unicode look-alikes such as
``❶`` or ``８``, spelled ``seven``/``oh``, letter ``o``) joined by short non-letter gaps
(``702*605*1961``, ``818❤️857😘0348``, ``9four9 667 6357``) is masked, and so is every
span found by the project's identifier extractor (``ownergraph.loaders.identifiers``).
Each masked span becomes a fixed placeholder token, so "there
was a phone here" stays visible as layout while the number itself does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from ownergraph.loaders import identifiers

PHONE_TOKEN = " ⟨PHONE⟩ "
EMAIL_TOKEN = " ⟨EMAIL⟩ "
URL_TOKEN = " ⟨URL⟩ "
HANDLE_TOKEN = " ⟨HANDLE⟩ "

_WORDS = "zero|one|two|three|four|five|six|seven|eight|nine"
# One digit: an ASCII digit (after look-alikes are mapped); a spelled digit, also glued
# to others ("Three23Four8", "9four9"); or a letter o / "oh" standing for zero next to a
# digit ("8oo", "7o2") or as a word of its own. A chain still needs 7 such digits with
# only short non-alphanumeric gaps, so "someone" alone never counts. "ate" is 8 and
# I/l next to digits are 1 ("5lO*4O8*82l4"); "x" may separate digits ("8x1x8").
_DIGIT = (
    rf"(?:[0-9]|{_WORDS}|ate|(?<![^\W\d_])oh?(?![^\W\d_])|(?<=[0-9o])o|o(?=[0-9])"
    r"|o(?=o*[0-9])|(?<=[0-9o])[il]|[il](?=[0-9o]))"
)
# Between digits: up to 8 characters that are neither letters nor digits (spaces,
# punctuation, underscores, emoji, variation selectors), never a currency sign (prices)
# and never a line break.
_GAP = r"(?:[^\w$€£\n]|_|x){0,8}"
# (The leading look-ahead only makes the scan faster: it rejects most positions at once.)
_PHONE_CHAIN = re.compile(rf"(?=[0-9zotfseinal]){_DIGIT}(?:{_GAP}{_DIGIT}){{6,}}", re.IGNORECASE)
_DIGIT_ONLY = re.compile(_DIGIT, re.IGNORECASE)

_AT = r"(?:@|\s*[\(\[\{]\s*at\s*[\)\]\}]\s*|\s+at\s+)"
_DOT = r"(?:\s?\.|\s*[\(\[\{]\s*dot\s*[\)\]\}]\s*|\s+dot\s+)"
_EMAIL = re.compile(
    rf"[\w.+\-]+{_AT}[\w\-]+(?:{_DOT}[\w\-]+)*{_DOT}(?:com|net|org|(?:edu|gov|us|co|me|io|info|biz)\b)",
    re.IGNORECASE,
)
_URL = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[\w\-]+(?:\.[\w\-]+)*\.(?:com|net|org|me|ly|io|co|us|info|biz|xxx)\b(?:/\S*)?",
    re.IGNORECASE,
)
_HANDLE_KEYWORD = (
    r"(?:ig|insta|instagram|twitter|snap|snap\s?chat|sc|kik|telegram|whatsapp|"
    r"skype|onlyfans|fb|facebook|wechat)"
)
_HANDLE = re.compile(
    rf"(?<!\w)@[\w.]{{2,}}"
    rf"|\b{_HANDLE_KEYWORD}[^\w\n]{{0,3}}(?:[:\-=@]|\bis\b)[^\w\n]{{0,3}}@?[\w.]+",
    re.IGNORECASE,
)
_AGE_SUFFIX = re.compile(r"\s+-\s+\d{1,2}\s*$")
# Cheap tests that decide whether the slower patterns need to run at all.
_EMAIL_HINT = re.compile(r"@|\bat\b", re.IGNORECASE)
_URL_HINT = re.compile(r"https?:|www\.|\.(?:com|net|org|me|ly|io|co|us|info|biz|xxx)\b", re.I)
_HANDLE_HINT = re.compile(rf"@|\b(?=[iItTsSkKwWoOfF]){_HANDLE_KEYWORD}\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _digit_table() -> dict[int, str]:
    """Map every non-ASCII Unicode digit look-alike (``❶``, ``８``, ``𝟕``) to ASCII."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x110000):
        d = unicodedata.digit(chr(cp), None)
        if d is not None:
            table[cp] = str(d)
    return table


def normalise_digits(text: str) -> str:
    """Same length as ``text``, with Unicode digit look-alikes replaced by ASCII digits."""
    return text.translate(_digit_table())


Spans = list[tuple[int, int]]
Extractor = Callable[[str], Iterable[str]]


def _phone_spans(norm: str) -> Spans:
    spans = []
    for m in _PHONE_CHAIN.finditer(norm):
        if len(_DIGIT_ONLY.findall(m.group(0))) >= 7:
            spans.append(m.span())
    return spans


def _raw_spans(text: str, raws: Iterable[str]) -> Spans:
    """Every occurrence of each raw identifier string found by an extractor."""
    spans = []
    for raw in {r for r in raws if r and r.strip()}:
        start = text.find(raw)
        while start >= 0:
            spans.append((start, start + len(raw)))
            start = text.find(raw, start + len(raw))
    return spans


@lru_cache(maxsize=1)
def _project_extractor() -> Extractor | None:
    """The project's identifier extractor: raw strings of phones + e-mails."""

    def raws(text: str) -> list[str]:
        out = [m.raw for m in identifiers.extract_phones(text, "US")]
        out += [getattr(m, "raw", None) or m.address for m in identifiers.extract_emails(text)]
        return out

    return raws


def mask_text(text: str, *, extractor: Extractor | None | bool = True) -> str:
    """Return ``text`` with phones, e-mails, URLs and handles replaced by placeholders.

    ``extractor``: ``True`` uses ``ownergraph.loaders.identifiers`` when present (its raw
    match strings are masked as well), ``False``/``None`` uses the built-in patterns only,
    or a callable returning raw identifier strings found in a text.
    """
    if not isinstance(text, str):
        raise TypeError(f"mask_text needs a str, got {type(text).__name__}")
    if extractor is True:
        extractor = _project_extractor()
    norm = normalise_digits(text)
    tagged: list[tuple[int, int, str]] = []
    for hint, pattern, token in (
        (_EMAIL_HINT, _EMAIL, EMAIL_TOKEN),
        (_URL_HINT, _URL, URL_TOKEN),
        (_HANDLE_HINT, _HANDLE, HANDLE_TOKEN),
    ):
        if hint.search(norm):
            tagged += [(*m.span(), token) for m in pattern.finditer(norm)]
    tagged += [(a, b, PHONE_TOKEN) for a, b in _phone_spans(norm)]
    if extractor:
        tagged += [(a, b, PHONE_TOKEN) for a, b in _raw_spans(text, extractor(text))]
    if not tagged:
        return text
    # Merge overlapping spans (the earliest-starting span's token wins).
    tagged.sort()
    out, pos = [], 0
    cur_a, cur_b, cur_tok = tagged[0]
    for a, b, tok in tagged[1:]:
        if a <= cur_b:
            cur_b = max(cur_b, b)
            continue
        out += [text[pos:cur_a], cur_tok]
        pos = cur_b
        cur_a, cur_b, cur_tok = a, b, tok
    out += [text[pos:cur_a], cur_tok, text[cur_b:]]
    return "".join(out)


def strip_age_suffix(title: str) -> str:
    """Drop the `` - 22`` age that Backpage appended to every title (site metadata)."""
    return _AGE_SUFFIX.sub("", title)


def prepare_text(text: str, *, extractor: Extractor | None | bool = False) -> str:
    """Masked ``title\nbody`` text, without the site's age suffix on the title line."""
    title, sep, body = text.partition("\n")
    return mask_text(f"{strip_age_suffix(title)}{sep}{body}", extractor=extractor)
