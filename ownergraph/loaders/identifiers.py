"""Hard identifiers in ad text: phone numbers (E.164) and e-mail addresses, de-obfuscated.

Phones: the text is de-obfuscated into digit groups (``deobfuscate``); each run of groups
is searched left to right for the longest window of whole groups that ``phonenumbers``
accepts as a *valid* number for ``default_region`` (or internationally after a ``+``).
Windows that read as dates (``2016 06 17``), start at a price (``$150``) or cross a
percentage (``100%``) are not numbers. Digits inside URLs are matched only in their plain
form (``phonenumbers.PhoneNumberMatcher``).

Each match carries ``method``: the de-obfuscation classes that were needed, joined by
``+`` in the order unicode, homoglyph, words, separators; ``plain`` when none was; ``url``
for a number found inside a URL. ``confidence`` is a fixed prior per class (the lowest of
the classes used), an ordering for review, not a calibrated probability.

``hash_identifier`` turns a normalized identifier into a keyed HMAC-SHA256 digest so that
two organisations holding the same key can match identifiers without exchanging them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from ownergraph.loaders.deobfuscate import (
    BREAK,
    URL_RE,
    Group,
    Normalized,
    digit_runs,
    normalize,
    window_digits,
)

__all__ = [
    "EmailMatch",
    "Identifiers",
    "PhoneMatch",
    "extract_emails",
    "extract_identifiers",
    "extract_phones",
    "hash_identifier",
]

#: Prior confidence per de-obfuscation class (lowest one used wins).
CONFIDENCE = {
    "plain": 0.99,
    "url": 0.9,
    "unicode": 0.95,
    "separators": 0.95,
    "words": 0.9,
    "homoglyph": 0.85,
}
_CLASS_ORDER = ("unicode", "homoglyph", "words", "separators")
_PLAIN_SEPARATORS = frozenset({"", "-", ".", "/", ")", "(", ")-", "+"})
_YEAR_RE = re.compile(r"(?:19|20)\d\d")
_DATE_SEP_RE = re.compile(r" ?[-/.]? ?| - ")
MAX_INTERNATIONAL_DIGITS = 15
MAX_NATIONAL_DIGITS = 17  # with trunk or international prefix


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    """A phone number found in text."""

    e164: str
    raw: str  # the span as written
    method: str
    confidence: float


@dataclass(frozen=True, slots=True)
class EmailMatch:
    """An e-mail address found in text (lower-cased)."""

    address: str
    raw: str
    method: str  # plain | spaced | brackets | words
    confidence: float


@dataclass(frozen=True, slots=True)
class Identifiers:
    phones: list[PhoneMatch]
    emails: list[EmailMatch]


# ---------------------------------------------------------------- phones


@dataclass(frozen=True, slots=True)
class _Plan:
    """Digit counts a number can have in a region, to skip hopeless windows before parsing."""

    min_digits: int
    lengths: frozenset[int]  # national, with trunk prefix, with country code
    idd: re.Pattern[str] | None


@lru_cache(maxsize=512)
def _plan(region: str) -> _Plan:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    national = {n for n in (meta.general_desc.possible_length or ()) if n > 0} or set(range(4, 18))
    extra = {len(meta.national_prefix or ""), len(str(meta.country_code))}
    lengths = frozenset(n + e for n in national for e in {0, *extra})
    idd = re.compile(meta.international_prefix) if meta.international_prefix else None
    return _Plan(min(national), lengths, idd)


@lru_cache(maxsize=1)
def _min_international_digits() -> int:
    """Fewest digits of a number written with ``+`` and a country code, over all regions
    (6: ``+49 1640``), so that a number found in national form is found in E.164 too."""
    out = MAX_INTERNATIONAL_DIGITS
    for region in phonenumbers.SUPPORTED_REGIONS:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        national = [n for n in (meta.general_desc.possible_length or ()) if n > 0]
        if national:
            out = min(out, len(str(meta.country_code)) + min(national))
    return out


def _check_region(region: str) -> str:
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"default_region {region!r} is not a region phonenumbers knows "
            "(use an ISO 3166-1 alpha-2 code such as 'US' or 'GB')"
        )
    return region.upper()


def _prefix_ok(prefix: str, num: phonenumbers.PhoneNumber, region: str, intl: bool) -> bool:
    """Digits before the national number must be a country code, trunk or IDD prefix
    (phonenumbers would otherwise accept "11" + "805 638 9796" from "10/11 805...")."""
    cc = str(num.country_code)
    if prefix in ("", cc):
        return True
    if intl:
        return False
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta.national_prefix and prefix == meta.national_prefix:
        return True
    idd = meta.international_prefix
    return bool(idd) and prefix.endswith(cc) and re.fullmatch(idd, prefix[: -len(cc)]) is not None


@lru_cache(maxsize=8192)
def _parse(digits: str, region: str, international: bool) -> phonenumbers.PhoneNumber | None:
    try:
        num = phonenumbers.parse("+" + digits if international else digits, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    nsn = phonenumbers.national_significant_number(num)
    if len(str(num.country_code)) + len(nsn) > MAX_INTERNATIONAL_DIGITS:
        return None  # E.164 has at most 15 digits; longer runs are not one number
    if not digits.endswith(nsn):
        return None
    return num if _prefix_ok(digits[: -len(nsn)], num, region, international) else None


def _looks_like_date(groups: list[Group]) -> bool:
    """A year (19xx/20xx) after or before a day and a month: 2016 06 17, 11-17-2015."""

    def small(k: int) -> bool:
        return 0 <= k < len(groups) and len(groups[k].digits) <= 2 and not groups[k].classes

    for k, g in enumerate(groups):
        if len(g.digits) == 4 and _YEAR_RE.fullmatch(g.digits):
            for a, b in ((k - 2, k - 1), (k + 1, k + 2)):
                if small(a) and small(b):
                    x, y = int(groups[a].digits), int(groups[b].digits)
                    seps = [groups[i].sep_before for i in range(min(a, k) + 1, max(b, k) + 1)]
                    if (
                        1 <= min(x, y)
                        and min(x, y) <= 12
                        and max(x, y) <= 31
                        and all(_DATE_SEP_RE.fullmatch(sep) for sep in seps)
                    ):
                        return True
    return False


def _method(norm: Normalized, window: list[Group]) -> tuple[str, float]:
    classes: set[str] = set()
    for g in window:
        classes |= g.classes
    if norm.has_unicode(window[0].start, window[-1].end):
        classes.add("unicode")
    seps = [g.sep_before for g in window[1:]]
    if len(window) > 5 or any(s.strip() not in _PLAIN_SEPARATORS or len(s) > 3 for s in seps):
        classes.add("separators")
    names = [c for c in _CLASS_ORDER if c in classes] or ["plain"]
    return "+".join(names), min(CONFIDENCE[c] for c in names)


def _run_phones(
    norm: Normalized, run: list[Group], region: str, plan: _Plan
) -> list[tuple[int, PhoneMatch]]:
    found: list[tuple[int, PhoneMatch]] = []
    n = len(run)
    i = 0
    while i < n:
        first = run[i]
        if first.weak or first.sep_before.rstrip().endswith("$"):
            i += 1
            continue
        international = first.sep_before.rstrip().endswith("+")
        lo = _min_international_digits() if international else plan.min_digits
        hi = MAX_INTERNATIONAL_DIGITS if international else MAX_NATIONAL_DIGITS
        best: tuple[int, phonenumbers.PhoneNumber] | None = None
        for j in range(i, n):
            window = run[i : j + 1]
            digits = window_digits(window)
            if len(digits) > hi:
                break
            if len(digits) < lo or run[j].weak:
                continue
            if not international:
                if len(digits) not in plan.lengths and not (plan.idd and plan.idd.match(digits)):
                    continue
                if _looks_like_date(window):
                    continue
            num = _parse(digits, region, international)
            if num is not None:
                best = (j, num)
        if best is None:
            i += 1
            continue
        j, num = best
        window = run[i : j + 1]
        method, conf = _method(norm, window)
        a, b = norm.span(first.start, run[j].end)
        if a > 0 and norm.original[a - 1] in "+(":
            a -= 1
        e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
        found.append((a, PhoneMatch(e164, norm.original[a:b], method, conf)))
        i = j + 1
    return found


def _url_phones(norm: Normalized, region: str) -> list[tuple[int, PhoneMatch]]:
    found = []
    for m in URL_RE.finditer(norm.text):
        for pm in phonenumbers.PhoneNumberMatcher(m.group(), region):
            a, b = norm.span(m.start() + pm.start, m.start() + pm.end)
            e164 = phonenumbers.format_number(pm.number, PhoneNumberFormat.E164)
            found.append((a, PhoneMatch(e164, norm.original[a:b], "url", CONFIDENCE["url"])))
    return found


def extract_phones(text: str, default_region: str = "US") -> list[PhoneMatch]:
    """Phone numbers in ``text``, de-obfuscated, valid, E.164, deduplicated, in text order.

    ``default_region`` (ISO 3166-1 alpha-2) is the country of numbers written without a
    ``+`` country code. Raises TypeError for non-text, ValueError for an unknown region.
    """
    return _read_phones(text, default_region)[0]


def _read_phones(text: str, default_region: str) -> tuple[list[PhoneMatch], Normalized | None]:
    """:func:`extract_phones`, and the normalised text it read (None when it read none)."""
    if not isinstance(text, str):
        raise TypeError(f"extract_phones needs text (str), got {type(text).__name__}")
    region = _check_region(default_region)
    if not any(c.isdigit() or c.isalpha() for c in text):
        return [], None
    norm = normalize(text, mask_urls=False)
    return _phones(norm, region), norm


def _phones(base: Normalized, region: str) -> list[PhoneMatch]:
    """:func:`extract_phones` of ``normalize(text, mask_urls=False)`` (read, not changed)."""
    masked = URL_RE.sub(lambda m: BREAK * len(m.group()), base.text)
    norm = dataclasses.replace(base, text=masked)
    plan = _plan(region)
    found: list[tuple[int, PhoneMatch]] = []
    for run in digit_runs(norm):
        found.extend(_run_phones(norm, run, region, plan))
    if masked is not base.text and BREAK in masked:
        found.extend(_url_phones(base, region))
    found.sort(key=lambda t: t[0])
    seen: set[str] = set()
    out = []
    for _, m in found:
        if m.e164 not in seen:
            seen.add(m.e164)
            out.append(m)
    return out


# ---------------------------------------------------------------- e-mails

#: TLDs accepted when the address is spelled with spaces or words ("name at host dot com").
SPELLED_TLDS = frozenset(
    "com net org edu gov info biz us ca uk co io me tv mx au de fr es it nl ru in jp br "
    "eu ch se no fi dk pl be ie nz za sg hk my ph".split()
)
_LOCAL = r"[a-z0-9][a-z0-9._%+\-]*"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_AT_PLAIN = r"@"
_AT_SPACED = r"[ \t]*@[ \t]*"
_AT_BRACKET = r"[ \t]*[\(\[\{<][ \t]*(?:at|@)[ \t]*[\)\]\}>][ \t]*"
_AT_WORD = r"[ \t]+at[ \t]+"
_DOT_BRACKET = r"[ \t]*[\(\[\{<][ \t]*(?:dot|\.)[ \t]*[\)\]\}>][ \t]*"
_DOT_SPACED = r"[ \t]*\.[ \t]*"
_DOT_WORD = r"[ \t]+dot[ \t]+"
_DOT_ANY = f"(?:{_DOT_BRACKET}|{_DOT_WORD}|{_DOT_SPACED})"
_AT_ANY = f"(?:{_AT_BRACKET}|{_AT_WORD}|{_AT_SPACED})"
_EMAIL_PLAIN_RE = re.compile(
    rf"(?i)(?<![\w.%+\-])({_LOCAL}){_AT_PLAIN}((?:{_LABEL}\.)+[a-z]{{2,24}})(?![\w\-])"
)
_EMAIL_SPELLED_RE = re.compile(
    rf"(?i)(?<![\w.%+\-])({_LOCAL})({_AT_ANY})({_LABEL}(?:{_DOT_ANY}{_LABEL})*)"
    rf"({_DOT_ANY})([a-z]{{2,24}})(?![\w\-])"
)
_DOT_SPLIT_RE = re.compile(_DOT_ANY, re.I)
_AT_WORD_RE = re.compile(_AT_WORD, re.I)
_DOT_SPELLED_RE = re.compile(f"{_DOT_BRACKET}|{_DOT_WORD}", re.I)


def _spelled_method(matched: str) -> str:
    if re.search(r"[\(\[\{<]", matched):
        return "brackets"
    if re.search(r"(?i)\s(?:at|dot)\s", matched):
        return "words"
    return "spaced"


def extract_emails(text: str) -> list[EmailMatch]:
    """E-mail addresses, also spelled ``name (at) host (dot) com``, ``name[at]host[.]com``,
    ``name @ host . com`` and ``name at host dot com`` (spelled forms only with a common
    TLD). Lower-cased, deduplicated, in text order."""
    if not isinstance(text, str):
        raise TypeError(f"extract_emails needs text (str), got {type(text).__name__}")
    if _no_email(text):
        return []
    return _emails(normalize(text, mask_urls=False))


_AT_OR_DOT_WORD_RE = re.compile(r"(?i)\bat\b|\bdot\b")


def _no_email(text: str) -> bool:
    """True when ``text`` certainly holds no address: ASCII (nothing folds to "@" or a
    letter), without "@" and without the words "at" or "dot"."""
    return "@" not in text and not _AT_OR_DOT_WORD_RE.search(text) and text.isascii()


_AT_WORD_ANY_RE = re.compile(r"(?i)\bat\b")


def _emails(norm: Normalized) -> list[EmailMatch]:
    """:func:`extract_emails` of ``normalize(text, mask_urls=False)`` (read, not changed)."""
    if "@" not in norm.text and not _AT_WORD_ANY_RE.search(norm.text):
        return []  # every address form holds "@" or the word "at" (brackets, blanks around)
    return _find_emails(norm)


def _find_emails(norm: Normalized) -> list[EmailMatch]:
    text = norm.original
    s = norm.text
    found: list[tuple[int, EmailMatch]] = []
    taken: list[tuple[int, int]] = []
    for m in _EMAIL_PLAIN_RE.finditer(s):
        addr = f"{m.group(1)}@{m.group(2)}".lower()
        a, b = norm.span(m.start(), m.end())
        found.append((a, EmailMatch(addr, text[a:b], "plain", 0.99)))
        taken.append((m.start(), m.end()))
    if taken:  # spelled forms only outside plain addresses
        parts, pos = [], 0
        for st, e in taken:
            parts += [s[pos:st], BREAK * (e - st)]
            pos = e
        s = "".join([*parts, s[pos:]])
    for m in _EMAIL_SPELLED_RE.finditer(s):
        tld = m.group(5).lower()
        labels = _DOT_SPLIT_RE.split(m.group(3))
        if tld not in SPELLED_TLDS or labels[0].lower() == "www":
            continue  # "VIDEO @ www.site.com" is a web site
        if _AT_WORD_RE.fullmatch(m.group(2)):
            # "name at host dot com" only when the dots are spelled too: not "at ease. My"
            dots = _DOT_SPLIT_RE.findall(m.group(3)) + [m.group(4)]
            if not all(_DOT_SPELLED_RE.fullmatch(d) for d in dots):
                continue
        method = _spelled_method(m.group(0))
        host = ".".join(labels)
        addr = f"{m.group(1)}@{host}.{tld}".lower()
        a, b = norm.span(m.start(), m.end())
        conf = {"spaced": 0.9, "brackets": 0.95, "words": 0.8}[method]
        found.append((a, EmailMatch(addr, text[a:b], method, conf)))
    found.sort(key=lambda t: t[0])
    seen: set[str] = set()
    out = []
    for _, e in found:
        if e.address not in seen:
            seen.add(e.address)
            out.append(e)
    return out


def extract_identifiers(text: str, default_region: str = "US") -> Identifiers:
    """Phones and e-mails of one text: :func:`extract_phones` and :func:`extract_emails`,
    the text de-obfuscated once for both (``normalize`` is a pure function of it)."""
    phones, norm = _read_phones(text, default_region)
    if _no_email(text):
        return Identifiers(phones, [])
    return Identifiers(phones, _emails(normalize(text, mask_urls=False) if norm is None else norm))


# ---------------------------------------------------------------- keyed digests


def hash_identifier(value: str, key: bytes) -> str:
    """Keyed digest ``hmac-sha256:<hex>`` of a normalized identifier (E.164 phone or
    lower-cased e-mail). Same key and value give the same digest anywhere; without the
    key the value cannot be recovered or tested. Key handling is the caller's."""
    if not isinstance(value, str) or not value:
        raise ValueError("hash_identifier needs a non-empty identifier string")
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("hash_identifier needs a secret key of at least 16 bytes")
    digest = hmac.new(bytes(key), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest}"
