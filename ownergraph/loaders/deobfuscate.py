"""De-obfuscation of digits in ad text: Unicode digit forms, number words, look-alike letters.

Ads hide phone numbers from scrapers: ``702*605*1961``, ``six02 twotwoeight``,
``fiv3``, ``6869O537``, ``①②③``, fullwidth digits, emoji between digit groups. This module
turns a text into *digit groups* (one per token that reads as digits) and *runs* (groups
joined by short separators), keeping a map back to the original characters so that a
match can report the span as it was written. Which phone numbers a run holds is decided
by ``ownergraph.loaders.identifiers`` with ``phonenumbers``.

Classes of de-obfuscation recorded per group (used as the match ``method``):
``unicode`` (a character became a digit or letter only through NFKC or a Unicode digit
value, or a keycap or enclosing mark was dropped from it), ``words`` (number words, also
leet ones like ``fiv3``), ``homoglyph`` (O/o read as 0, l/I/i read as 1, only inside tokens
that also hold a real digit).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

#: Replaces HTML tags and URLs; never part of a separator, so it breaks a run.
BREAK = "\uffff"

UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen")  # fmt: skip
TENS = {"twenty": 2, "thirty": 3, "forty": 4, "fourty": 4, "fifty": 5, "sixty": 6,
        "seventy": 7, "eighty": 8, "ninety": 9}  # fmt: skip
#: Homophones that read as digits only glued to other digits ("for80", "3tothree") or, for
#: "oh", between digit groups. A token made of these alone is not a digit group.
WEAK = {"oh": "0", "to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8"}

WORD_VALUES: dict[str, str] = {w: str(i) for i, w in enumerate(UNITS)}
WORD_VALUES |= {w: str(10 + i) for i, w in enumerate(TEENS)}
WORD_VALUES |= {w: f"{d}0" for w, d in TENS.items()}
WORD_VALUES |= {t + u: f"{d}{i}" for t, d in TENS.items() for i, u in enumerate(UNITS) if i}

HOMOGLYPHS = {"o": "0", "O": "0", "l": "1", "I": "1", "i": "1"}
#: Cyrillic and Greek letters that look like O / I in ads (NFKC leaves them alone).
CONFUSABLES = {"\u041e": "O", "\u043e": "o", "\u039f": "O", "\u03bf": "o",
               "\u0406": "I", "\u0456": "i", "\u0399": "I", "\u04c0": "I"}  # fmt: skip
#: Marks that only decorate the character before them: emoji variation selectors and
#: enclosing marks such as the keycap (``0️⃣`` is 0 + U+FE0F + U+20E3). They are dropped, so
#: ``2️⃣0️⃣O`` reads as one token "20O" (and the O, beside a real digit, as 0).
_INVISIBLE_CATEGORIES = frozenset({"Me"})
_VARIATION_SELECTORS = frozenset(map(chr, range(0xFE00, 0xFE10)))
_LEET = {"e": "[e3]", "o": "[o0]", "i": "[i1]"}
_UNLEET = str.maketrans("301", "eoi")


def _trie_pattern(words: list[str], leet: bool) -> str:
    """One regex for many words, as a prefix tree (fast), longest word first."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(_LEET.get(c, c) if leet else c, {})
        node[""] = {}

    def walk(node: dict) -> str:
        alts = [tok + walk(child) for tok, child in node.items() if tok]
        if not alts:
            return ""
        body = "(?:" + "|".join(alts) + ")"
        return body + "?" if "" in node else body

    return walk(trie)


_UNIT = (
    "(?i:" + _trie_pattern(list(WORD_VALUES), leet=True) + ")"
    "|(?i:" + _trie_pattern(list(WEAK), leet=False) + ")"
    r"|[0-9]|[oOlIi]"
)
_UNIT_RE = re.compile(_UNIT)
_TOKEN_FULL_RE = re.compile(f"(?:{_UNIT})+")
#: Tokens that may read as digits: all digit units, or holding a digit. Other tokens are
#: letters, which end a run (seen as alphanumerics in the separator).
_CANDIDATE_RE = re.compile(rf"(?<![^\W_])(?:(?:{_UNIT})+|[^\W_]*[0-9][^\W_]*)(?![^\W_])")
_HAS_DIGIT_RE = re.compile(r"[0-9]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ALNUM_RE = re.compile(r"[^\W_]")
_DIGITS_RE = re.compile(r"[0-9]+")
#: "8x1x89" -> "8*1*89": x between digits in a token of digits and x only (not "s1x0")
_X_SEPARATED_RE = re.compile(r"(?<![^\W_])[0-9]+(?:[xX][0-9]+)+(?![^\W_])")
_BANG_ONE_RE = re.compile(r"(?<=[0-9oO])[!|](?=[0-9oOlI])")  # 3!O -> 3lO (look-alike 1)
_TAG_RE = re.compile(r"<[^<>\n]{0,200}>")
URL_RE = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")

MAX_SEPARATOR = 8


@dataclass(slots=True)
class Normalized:
    """Text with digit forms folded to ASCII, plus a map back to the original characters."""

    original: str
    text: str
    origin: list[int] | None  # index in ``original`` of each char of ``text``; None = same
    unicode_flags: bytearray | None  # 1 where a char came from a Unicode fold

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original span ``[a, b)`` of the normalized span ``[start, end)``."""
        if self.origin is None:
            return start, end
        a = self.origin[start]
        b = self.origin[end - 1] + 1 if end > start else a
        return a, b

    def raw(self, start: int, end: int) -> str:
        a, b = self.span(start, end)
        return self.original[a:b]

    def has_unicode(self, start: int, end: int) -> bool:
        return self.unicode_flags is not None and any(self.unicode_flags[start:end])


@lru_cache(maxsize=65536)
def _fold_char(c: str) -> str:
    """ASCII digit for any Unicode digit form; NFKC form otherwise."""
    if c in CONFUSABLES:
        return CONFUSABLES[c]
    cat = unicodedata.category(c)
    if cat in _INVISIBLE_CATEGORIES or c in _VARIATION_SELECTORS:
        return ""
    if cat == "Nd":
        return str(unicodedata.decimal(c))
    out = unicodedata.normalize("NFKC", c)
    if out == c:
        if cat == "No":  # dingbat circled digits such as U+2776 have no NFKC mapping
            d = unicodedata.digit(c, None)
            return str(d) if d is not None else c
        return c
    return "".join(
        str(unicodedata.decimal(x)) if unicodedata.category(x) == "Nd" else x for x in out
    )


def normalize(text: str, mask_urls: bool = True) -> Normalized:
    """Fold Unicode digit forms to ASCII; blank HTML tags and (optionally) URLs with BREAK."""
    folded, origin, flags = text, None, None
    if not text.isascii():
        folds = {c: _fold_char(c) for c in set(_NON_ASCII_RE.findall(text))}
        changed = {c: f for c, f in folds.items() if f != c}
        if changed:
            origin, flags = [], bytearray()
            parts: list[str] = []
            pos = 0
            for m in re.finditer("|".join(map(re.escape, changed)), text):
                a = m.start()
                if a > pos:
                    parts.append(text[pos:a])
                    origin.extend(range(pos, a))
                    flags.extend(bytes(a - pos))
                f = changed[m.group()]
                parts.append(f)
                origin.extend([a] * len(f))
                flags.extend([1 if any(x.isalnum() for x in f) else 0] * len(f))
                if not f and flags and a > 0 and text[a - 1].isalnum():
                    flags[-1] = 1  # a keycap digit (7️⃣) is a Unicode form of its digit
                pos = m.end()
            parts.append(text[pos:])
            origin.extend(range(pos, len(text)))
            flags.extend(bytes(len(text) - pos))
            folded = "".join(parts)
            if all(len(f) == 1 for f in changed.values()):
                origin = None  # one character for one: positions are unchanged
            if not any(flags):
                flags = None
    folded = _TAG_RE.sub(lambda m: BREAK * len(m.group()), folded)
    folded = _X_SEPARATED_RE.sub(lambda m: m.group().replace("x", "*").replace("X", "*"), folded)
    folded = _BANG_ONE_RE.sub("l", folded)
    if mask_urls:
        folded = URL_RE.sub(lambda m: BREAK * len(m.group()), folded)
    return Normalized(text, folded, origin, flags)


@dataclass(slots=True)
class Group:
    """One token (or the digit edge of a mixed token) read as digits."""

    digits: str
    start: int  # in normalized text
    end: int
    classes: set[str] = field(default_factory=set)
    weak: bool = False  # only homophones / lone look-alikes: never starts or ends a number
    tens_tail: bool = False  # ends with a bare tens word ("twenty"): "twenty five" -> 25
    unit_head: bool = False  # starts with a unit word
    sep_before: str = ""  # separator text between the previous group of the run and this one


@dataclass(slots=True)
class Reading:
    """How a token (or a part of one) reads as digits."""

    digits: str
    classes: set[str]
    weak: bool
    tens_tail: bool
    unit_head: bool
    edges_digit: tuple[bool, bool]  # first / last unit is a real digit


def _read_token(tok: str, allow_weak: bool = True) -> Reading | None:
    """Digits of a token made only of digit units (digits, number words, look-alikes)."""
    if tok.isdigit() and tok.isascii():
        # what the loop below reads: each digit is a unit (no number word is all digits)
        return Reading(tok, set(), False, False, len(tok) == 1, (True, True))
    return _read_units(tok, allow_weak)


def _read_units(tok: str, allow_weak: bool) -> Reading | None:
    """:func:`_read_token`, unit by unit."""
    if not _TOKEN_FULL_RE.fullmatch(tok):
        return None
    digits: list[str] = []
    classes: set[str] = set()
    pos = 0
    strong = False
    homoglyphs = 0
    tens_tail = unit_head = False
    first_digit = last_digit = False
    for k, m in enumerate(_UNIT_RE.finditer(tok)):
        if m.start() != pos:
            return None
        s = m.group()
        pos = m.end()
        after_tens, tens_tail = tens_tail, False
        if s.isdigit():
            if after_tens and s != "0":  # "thirty2" reads as 32
                digits[-1] = digits[-1][0]
            digits.append(s)
            strong = True
            if k == 0:
                unit_head = len(tok) == 1
        elif len(s) == 1 and s in HOMOGLYPHS:
            digits.append(HOMOGLYPHS[s])
            homoglyphs += 1
        else:
            low = s.lower()
            if low in WEAK:
                digits.append(WEAK[low])
                classes.add("words")
            else:
                key = low.translate(_UNLEET)
                value = WORD_VALUES.get(key)
                if value is None:
                    return None
                digits.append(value)
                classes.add("words")
                strong = True
                tens_tail = key in TENS
                if k == 0 and key in UNITS:
                    unit_head = True
        if k == 0:
            first_digit = s.isdigit()
        last_digit = s.isdigit()
    if pos != len(tok):
        return None
    lone = tok.lower() in ("o", "oh")
    if homoglyphs:
        if not lone and not any(c.isdigit() for c in tok):
            return None  # look-alikes count only next to a real digit ("6869O537")
        classes.add("homoglyph")
    weak = not strong
    if weak and not (allow_weak and lone):
        return None  # "to", "for", "I", "lol": ordinary words, not digits
    return Reading("".join(digits), classes, weak, tens_tail, unit_head, (first_digit, last_digit))


def _edge_readings(tok: str) -> tuple[tuple[int, Reading] | None, tuple[int, Reading] | None]:
    """Digit readings of the start and the end of a mixed token ("11eight5Chanel",
    "weekend7086315843"): (length, reading) of the longest prefix and longest suffix that
    read as digits and touch the letters with a real digit (not "ten" of "tengo")."""
    prefix = suffix = None
    for end in range(len(tok) - 1, 0, -1):
        if tok[end - 1].isdigit() or tok[end - 1].isalpha():
            r = _read_token(tok[:end], allow_weak=False)
            if r is not None and r.edges_digit[1]:
                prefix = (end, r)
                break
    start_min = prefix[0] if prefix else 1
    for start in range(start_min, len(tok)):
        r = _read_token(tok[start:], allow_weak=False)
        if r is not None and r.edges_digit[0]:
            suffix = (start, r)
            break
    return prefix, suffix


_LIST_COMMA_RE = re.compile(r",\s")
_QUOTES = frozenset("'\"\u2032\u2033\u2019\u201d`")


def _separator_ok(sep: str) -> bool:
    return (
        len(sep) <= MAX_SEPARATOR
        and BREAK not in sep
        and not _ALNUM_RE.search(sep)
        and "@" not in sep
        and not ("%" in sep and sep != "%")  # "100% real" ends a run, "805%402" does not
        and sep.count("\n") <= 1
    )


def _is_height(a: Group, sep: str, b: Group) -> bool:
    """5'6, 5"3: a single digit 4-7, a quote, then inches 0-11."""
    return (
        a.digits in ("4", "5", "6", "7")
        and not a.classes
        and sep.strip() != ""
        and set(sep.strip()) <= _QUOTES
        and len(b.digits) <= 2
        and not b.classes
        and int(b.digits) <= 11
    )


def digit_runs(norm: Normalized) -> list[list[Group]]:
    """Runs of digit groups joined by short separators, in order of appearance."""
    text = norm.text
    runs: list[list[Group]] = []
    run: list[Group] = []
    last_end = -1

    def close() -> None:
        nonlocal run
        if run:
            runs.append(run)
        run = []

    def add(g: Group) -> None:
        nonlocal last_end, run
        if run:
            sep = text[last_end : g.start]
            if _is_height(run[-1], sep, g):
                run.pop()
                close()
                last_end = g.end
                return  # both halves of a height are dropped
            if not _separator_ok(sep) or (
                # a list of plain numbers: "90038, 90028", "30-45, 90"
                _LIST_COMMA_RE.search(sep) and not run[-1].classes and not g.classes
            ):
                close()
            else:
                g.sep_before = sep
        if not run:
            g.sep_before = text[max(0, g.start - 3) : g.start]
        run.append(g)
        last_end = g.end

    def group(r: Reading, a: int, b: int) -> Group:
        return Group(r.digits, a, b, r.classes, r.weak, r.tens_tail, r.unit_head)

    for m in _CANDIDATE_RE.finditer(text):
        tok = m.group()
        r = _read_token(tok)
        if r is not None:
            add(group(r, m.start(), m.end()))
            continue
        if not _HAS_DIGIT_RE.search(tok):
            close()  # "to", "for", "lol": words, not digits
            continue
        # Mixed token ("95hr", "weekend7086315843", "11eight5Chanel"): its digit edges
        # are groups; the letters end the run on their side.
        prefix, suffix = _edge_readings(tok)
        if prefix is not None:
            add(group(prefix[1], m.start(), m.start() + prefix[0]))
        close()
        lo = prefix[0] if prefix else 0
        hi = suffix[0] if suffix else len(tok)
        for d in _DIGITS_RE.finditer(tok, lo, hi):  # letters on both sides: "ring4155550132now"
            if len(d.group()) >= 7:
                add(Group(d.group(), m.start() + d.start(), m.start() + d.end()))
                close()
        if suffix is not None:
            add(group(suffix[1], m.start() + suffix[0], m.end()))
    close()
    return runs


def window_digits(groups: list[Group]) -> str:
    """Digits of consecutive groups; "twenty" + "five" reads as 25, not 205."""
    out: list[str] = []
    prev: Group | None = None
    for g in groups:
        d = g.digits
        if (
            prev is not None
            and prev.tens_tail
            and g.unit_head
            and g.sep_before.strip(" -") == ""
            and out
            and out[-1].endswith("0")
        ):
            out[-1] = out[-1][:-1]
        out.append(d)
        prev = g
    return "".join(out)
