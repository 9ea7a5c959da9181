"""Indicators read from an ad's title and body: rules, one regular expression family each.

Per ad, :func:`extract` returns the advertised names, ages and ethnicities/nationalities,
and the field's trafficking indicators (Tong et al., ACL 2017, "Trafficking-10k";
Polaris' and Memex's indicator lists):

- ``third_person``: the ad speaks of the woman in the third person ("she is", "ask for
  her", "our girls") -- someone else writes it;
- ``new_in_town``: "new in town", "just arrived", "visiting", "last night in town" --
  a worker moved to a new market;
- ``several_women``: two or more women offered in one ad ("2 girl special", "we are");
- ``youth``: youth-suggestive wording ("young", "fresh", "teen", "barely legal");
- ``incall``: where the incall is -- a street address, a named hotel/motel, or the
  place phrase after "incall" -- normalised to a key (``None`` if the ad names none).

Every extractor's precision and recall on hand-labelled real ads is printed by
``benchmarks/bench_text_indicators.py`` (labels in ``benchmarks/labels/``). Rules only:
no model is used (none was measured to do better on the labelled sample).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

BOOL_INDICATORS = ("third_person", "new_in_town", "several_women", "youth")
MIN_AGE, MAX_AGE = 18, 65

# Words that follow a name cue but are not names ("I'm new", "this is Real", "ask for Me").
_NOT_NAMES = frozenset(
    """a an the and or but of in on at to for from by with your you ur my me i im it its
    is am are was be been new back here there now so not just only very really real ready
    available sexy sweet young hot fun your yours mine baby babe hun honey daddy papi gentlemen
    guys love lover girl girls lady ladies woman women doll angel princess queen goddess
    playmate companion treat beauty hottie cutie kitten bunny diva vixen barbie sweetie
    cute petite curvy thick busty classy playful naughty gorgeous stunning exotic sensual
    flirty bubbly discreet genuine elegant sultry tiny slim juicy seductive adorable charming
    fit tall mature independent latina asian ebony blonde brunette redhead black white
    incall outcall incalls outcalls specials special visiting in town this that what who
    when where why how if will can could would should call text ask meet see come let lets
    one two three 100 hr hh qv please no yes ok okay today tonight tomorrow everyday
    always all any some more most best top upscale vip verified reviewed new_in_town
    available24 24 7 xoxo kisses hugs muah mwah sincerely kiss love donation donations
    rates rate roses gfe pse bbbj fetish friendly natural all-natural pics photos pictures
    hotel motel room safe clean private upscale location area downtown airport the_one
    someone something everything nothing anything monday tuesday wednesday thursday
    friday saturday sunday morning night evening afternoon weekend week day days
    he she her him his they them their we us our hey hi hello hola welcome good book
    booking brand grand ciao spoil companionship popular stress bird miss low secret break
    tasty fresh texts text explicit feel smooth switch adults hour hours minutes mins
    right sure sleek punctual number cell phone contact""".split()
)

_NAME_TOKEN = r"([A-Z][a-z]{1,14}|[A-Z]{2,15})"
_NAME_CUES = re.compile(
    r"(?:\b[Mm][Yy] [Nn][Aa][Mm][Ee] [Ii][Ss]|\b[Nn]ame\s*[:\-]|\b[Ii]'?[Mm]|\b[Ii] [Aa][Mm]|"
    r"\b[Tt]his [Ii]s|\b[Ii]t'?s|\b[Cc]all [Mm]e|\b[Aa]sk [Ff]or|\b[Mm]eet|\b[Nn]amed|"
    r"\b[Xx][Oo][Xx][Oo],?|\b[Kk]isses,|\b[Ll]ove,|\b[Ll]uv,)"
    r"[^\w\n]{0,4}\s*(?:[Mm]iss\s+|[Mm]s\.?\s+)?" + _NAME_TOKEN + r"(?![A-Za-z'])"
)
# A signature: a capitalised word right before the phone number ("NADIA 510-214-2316").
_SIGNATURE = re.compile(
    r"(?<![A-Za-z'])" + _NAME_TOKEN + r"(?:[ ]+[A-Z][A-Za-z]{1,14})?(?![A-Za-z'])[^\w]{0,6}"
    r"(?=\(?\d{3}\D{0,3}\d)"
)
# Several people, each with an age: "Michelle 20, Jaki 19, Ashley 18".
_NAME_AGE = re.compile(_NAME_TOKEN + r"\s+(1[89]|[2-5]\d)\s*[,;/&]")
_SPACED = re.compile(r"\b(?:[A-Z][ .*_-]){2,}[A-Z]\b")  # "L A Y L A" -> "LAYLA"
_WORDY = re.compile(r"(?:ing|ly|ed|ful|ous|est|ness|able|ive|ity)$")

_AGE_PATTERNS = (
    re.compile(
        r"(?<![\d$.\-/:#])(\d{2})\s*(?:yo|y/o|y\.o\.?|yrs?|years?)(?:\s*(?:old|young))?\b", re.I
    ),  # fmt: skip
    re.compile(r"\bage\s*[:=\-]?\s*(\d{2})(?![\d'%])", re.I),
    re.compile(r"\b(?:i'?m|i am)\s+(\d{2})(?![\d'\"%.,]|\s*(?:min|hr|hour|\$|dollar|roses))", re.I),
    re.compile(r"\b(?:i'?m|i am)\s+[A-Z][a-z]+,\s*(\d{2})\s*,", re.I),
    re.compile(r"[A-Z][a-z]{1,14}\s+(1[89]|[2-5]\d)\s*[,;/&]"),
)
_TITLE_AGE = re.compile(r"-\s*(\d{2})\s*$")  # Backpage titles end with " - AGE"

# canonical ethnicity/nationality -> spellings (lower case, matched on word boundaries)
ETHNICITIES: dict[str, tuple[str, ...]] = {
    "latina": ("latina", "latin", "latinas", "hispanic", "spanish"),
    "asian": ("asian", "oriental"),
    "black": ("ebony", "black", "african american", "chocolate"),
    "white": ("white", "caucasian", "snow bunny", "snowbunny"),
    "mixed": ("mixed", "biracial", "bi-racial", "multiracial", "blasian"),
    "puerto rican": ("puerto rican", "boricua"),
    "mexican": ("mexican", "mexicana"),
    "colombian": ("colombian", "colombiana"),
    "cuban": ("cuban", "cubana"),
    "dominican": ("dominican", "dominicana"),
    "brazilian": ("brazilian", "brasileira"),
    "venezuelan": ("venezuelan", "venezolana"),
    "italian": ("italian",),
    "irish": ("irish",),
    "german": ("german",),
    "french": ("french",),
    "russian": ("russian",),
    "ukrainian": ("ukrainian",),
    "european": ("european",),
    "thai": ("thai",),
    "korean": ("korean",),
    "japanese": ("japanese",),
    "chinese": ("chinese",),
    "vietnamese": ("vietnamese",),
    "filipina": ("filipina", "filipino", "pinay"),
    "indian": ("indian",),
    "persian": ("persian",),
    "middle eastern": ("middle eastern", "arab", "arabian"),
    "caribbean": ("caribbean",),
    "jamaican": ("jamaican",),
    "haitian": ("haitian",),
    "hawaiian": ("hawaiian",),
    "polynesian": ("polynesian", "samoan"),
    "native american": ("native american",),
}
_ETH_INDEX = {s: k for k, spellings in ETHNICITIES.items() for s in spellings}
ETHNIC_WORDS = frozenset(w for s in _ETH_INDEX for w in s.split())
_ETH_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _ETH_INDEX), key=len, reverse=True)) + r")\b"
)

_THIRD_PERSON = re.compile(
    r"\b(?:she(?:'s|s|'ll| is| will| has| loves| can)|ask for her|call her|text her|her name|"
    r"our (?:girls?|ladies|models|staff)|my girls?|this girl is|these girls)\b",
    re.I,
)
_NEW_IN_TOWN = re.compile(
    r"\b(?:new (?:in|to) (?:town|the area|your city|[A-Z][a-z]+)|brand new to|just arrived|"
    r"just landed|just got (?:in|here|to)|visiting|in town (?:for|until|till|this)|"
    r"here for (?:a few|2|3|two|three|one) (?:days?|nights?)|last (?:night|day|days) in town|"
    r"leaving (?:soon|tomorrow|town)|passing through|(?:only|just) in town|on tour)\b",
    re.I,
)
_SEVERAL_WOMEN = re.compile(
    r"\b(?:(?:two|2|three|3|four|4)\s*(?:-\s*)?(?:girls?|ladies|women|hotties|babes|friends)|"
    r"duo|double trouble|double the fun|both of us|we are|we're|us girls|"
    r"me and my (?:friend|girlfriend|bestie|sister)|my friend and i|"
    r"(?:two|2|three|3) girl special)\b",
    re.I,
)
_YOUTH = re.compile(
    r"\b(?:young|younger|youngest|teen|teens|teenage|barely legal|barely 18|just turned 1[89]|"
    r"fresh|school ?girl|baby ?face|daddy'?s girl|innocent|lolita|little girl|new girl|"
    r"candy girl|tight young)\b",
    re.I,
)
_STREET = re.compile(
    r"\b(\d{2,5}\s+(?:[NSEW]\.?\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}\s+"
    r"(?:st|street|ave|avenue|blvd|boulevard|rd|road|dr|drive|way|hwy|highway|pkwy|parkway|ln|"
    r"lane))\b",
    re.I,
)
_HOTEL = re.compile(
    r"\b(motel 6|super 8|days inn|red roof inn|la quinta|holiday inn(?: express)?|"
    r"best western|comfort inn|hampton inn|extended stay(?: america)?|marriott|hilton|"
    r"sheraton|hyatt|embassy suites|quality inn|travelodge|econo lodge|residence inn|"
    r"courtyard|doubletree|motel|hotel)\b",
    re.I,
)
_INCALL_PLACE = re.compile(
    r"\bincalls?\b[^.!\n]{0,25}?\b((?:near|by|off|in|at|on)\s+(?:the\s+)?"
    r"[a-z]+(?:\s+[a-z]+){0,2})",
    re.I,
)
_BR = re.compile(r"<br\s*/?>", re.I)
_SPACES = re.compile(r"\s+")

# Cheap exact prefilters: every match of a keyword rule above (re.I, ASCII letters) holds,
# lower-cased, one of its words below, so the rule's search is skipped when ``text.lower()``
# holds none. Exact because re.I matches an ASCII letter, space, digit or apostrophe only to
# itself and its other case, except these non-ASCII characters (tests check every code
# point), and texts holding one of them are always searched.
_CASE_ODD = ("\u0130", "\u0131", "\u017f", "\u212a")  # İ ı (~ i), ſ (~ s), K (~ k)
_WORDS: dict[re.Pattern[str], tuple[str, ...]] = {
    _THIRD_PERSON: ("she", " her", "her name", "our girl", "our ladies", "our models",
                    "our staff", "my girl", "this girl is", "these girls"),
    _NEW_IN_TOWN: ("new in", "new to", "just arrived", "just landed", "just got ", "visiting",
                   "in town", "here for ", "leaving ", "passing through", "on tour"),
    _SEVERAL_WOMEN: ("girl", "ladies", "women", "hotties", "babes", "friend", "duo", "double ",
                     "both of us", "we are", "we're", "me and my "),
    _YOUTH: ("young", "teen", "barely ", "just turned 1", "fresh", "school", "baby", "daddy",
             "innocent", "lolita", "little girl", "new girl", "candy girl"),
    _HOTEL: ("motel", "hotel", "super 8", " inn", "la quinta", "best western", "extended stay",
             "marriott", "hilton", "sheraton", "hyatt", "embassy suites", "travelodge",
             "econo lodge", "courtyard", "doubletree"),
    _INCALL_PLACE: ("incall",),
}  # fmt: skip


def _case_odd(text: str) -> bool:
    """Whether ``text`` holds a non-ASCII character that re.I matches to an ASCII letter."""
    return any(c in text for c in _CASE_ODD)


def _search(pat: re.Pattern[str], text: str, low: str, odd: bool) -> re.Match[str] | None:
    """``pat.search(text)``, skipped (None) when none of ``pat``'s :data:`_WORDS` is in
    ``low`` (``text.lower()``) and not ``odd`` (:func:`_case_odd` of ``text``)."""
    if odd or any(w in low for w in _WORDS[pat]):
        return pat.search(text)
    return None


@dataclass(frozen=True)
class AdText:
    """What one ad's text says (each field from its own rule)."""

    names: tuple[str, ...] = ()
    ages: tuple[int, ...] = ()
    ethnicities: tuple[str, ...] = ()
    third_person: bool = False
    new_in_town: bool = False
    several_women: bool = False
    youth: bool = False
    incall: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)  # indicator -> matched words


def clean(text: Any) -> str:
    """NFKC-folded text with HTML line breaks and control characters turned to spaces."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _BR.sub("\n", s)
    if s.replace("\n", "").isprintable():
        return s  # no character of category C (the usual case: one test in C, no loop)
    return "".join(c if (c == "\n" or unicodedata.category(c)[0] != "C") else " " for c in s)


@functools.cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return _NOT_NAMES | ENGLISH_STOP_WORDS


def names(text: str) -> tuple[str, ...]:
    """Advertised names (capitalised), in order of first mention: the word after a cue
    ("my name is", "I'm", "ask for", "xoxo") or right before the phone number, when it is
    written capitalised and is not a common word."""
    stop = _stop_words()
    text = _SPACED.sub(lambda m: re.sub(r"[ .*_-]", "", m.group(0)), text)
    found: list[tuple[int, str]] = []
    for pat in (_NAME_CUES, _SIGNATURE, _NAME_AGE):
        found += [(m.start(1), m.group(1)) for m in pat.finditer(text)]
    out: dict[str, None] = {}
    for _, tok in sorted(found):
        low = tok.casefold()
        if low in stop or len(low) < 3 or _WORDY.search(low) or low in ETHNIC_WORDS:
            continue
        out[tok.capitalize()] = None
    return tuple(out)


def ages(title: str, body: str) -> tuple[int, ...]:
    """Stated ages within 18-65 (a title's trailing ``- NN`` counts)."""
    found: dict[int, None] = {}
    for text in (title, body):
        for pat in _AGE_PATTERNS:
            for m in pat.finditer(text):
                v = int(m.group(1))
                if MIN_AGE <= v <= MAX_AGE:
                    found[v] = None
    m = _TITLE_AGE.search(title)
    if m and MIN_AGE <= int(m.group(1)) <= MAX_AGE:
        found[int(m.group(1))] = None
    return tuple(found)


def ethnicities(text: str, low: str | None = None) -> tuple[str, ...]:
    """Canonical ethnicities/nationalities named (see :data:`ETHNICITIES`); ``low`` is
    ``text.lower()`` when the caller has it."""
    low = text.lower() if low is None else low
    return tuple(dict.fromkeys(_ETH_INDEX[m.group(1)] for m in _ETH_RE.finditer(low)))


def incall_key(text: str, low: str | None = None) -> str | None:
    """The incall place: street address, else a named hotel, else the phrase after
    "incall"; lower case, single-spaced. ``low`` is ``text.lower()`` when the caller has it."""
    low = text.lower() if low is None else low
    odd = _case_odd(text)
    m = _STREET.search(text) or _search(_HOTEL, text, low, odd)
    m = m or _search(_INCALL_PLACE, text, low, odd)
    return _SPACES.sub(" ", m.group(1).lower()).strip() if m else None


def extract(title: Any, body: Any) -> AdText:
    """Every text indicator of one ad."""
    t, b = clean(title), clean(body)
    text = f"{t}\n{b}"
    low, odd = text.lower(), _case_odd(text)
    ev: dict[str, str] = {}
    flags = {}
    for name, pat in (
        ("third_person", _THIRD_PERSON),
        ("new_in_town", _NEW_IN_TOWN),
        ("several_women", _SEVERAL_WOMEN),
        ("youth", _YOUTH),
    ):
        m = _search(pat, text, low, odd)
        flags[name] = m is not None
        if m:
            ev[name] = m.group(0)
    inc = incall_key(text, low)
    if inc:
        ev["incall"] = inc
    return AdText(
        names=names(text),
        ages=ages(t, b),
        ethnicities=ethnicities(text, low),
        incall=inc,
        evidence=ev,
        **flags,
    )


COLUMNS = ("text_names", "text_ages", "ethnicities", *BOOL_INDICATORS, "incall")

# Stored on each Ad at load (:func:`ad_properties`), so that ``owners detect`` reads them
# instead of reading every ad's text again (:func:`stored_or_extracted`). Bump
# RULES_VERSION whenever a rule above changes: ads stored under another version are read
# again at detection.
RULES_VERSION = 1
AD_PROPERTIES = (
    "text_rules", "text_names", "text_ages", "text_ethnicities", *BOOL_INDICATORS,
    "text_incall",
)  # fmt: skip
_SEP = "|"


def ad_properties(title: Any, body: Any) -> dict[str, Any]:
    """The :data:`AD_PROPERTIES` of one ad: lists joined by ``|`` (names are letters only,
    ages digits, ethnicities the keys of :data:`ETHNICITIES`); ``text_rules`` the
    :data:`RULES_VERSION` they were read with."""
    r = extract(title, body)
    return {
        "text_rules": RULES_VERSION,
        "text_names": _SEP.join(r.names),
        "text_ages": _SEP.join(map(str, r.ages)),
        "text_ethnicities": _SEP.join(r.ethnicities),
        **{k: getattr(r, k) for k in BOOL_INDICATORS},
        "text_incall": r.incall,
    }


def _split(v: Any, cast: Any = str) -> tuple:
    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return ()
    return tuple(cast(x) for x in str(v).split(_SEP))


def stored_or_extracted(ads: pd.DataFrame) -> pd.DataFrame:
    """The text indicators of ``ads`` (columns of :data:`COLUMNS`, index ``ads['id']``):
    read from the stored :data:`AD_PROPERTIES` where ``text_rules`` is the current
    :data:`RULES_VERSION`, else extracted from ``title``/``body`` (ads loaded before the
    properties existed, or under older rules)."""
    idx = pd.Index(ads["id"].to_numpy(), name="id")
    rules = ads["text_rules"] if "text_rules" in ads.columns else pd.Series(pd.NA, index=ads.index)
    fresh = (pd.to_numeric(rules, errors="coerce") == RULES_VERSION).fillna(False).to_numpy()
    parts = []
    if fresh.any():
        st = ads[fresh]
        parts.append(
            pd.DataFrame(
                {
                    "text_names": [_split(v) for v in st["text_names"]],
                    "text_ages": [_split(v, int) for v in st["text_ages"]],
                    "ethnicities": [_split(v) for v in st["text_ethnicities"]],
                    **{k: st[k].fillna(False).astype(bool).to_numpy() for k in BOOL_INDICATORS},
                    "incall": [
                        None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
                        for v in st["text_incall"]
                    ],
                },
                index=idx[fresh],
            )
        )
    if (~fresh).any():
        parts.append(extract_frame(ads[~fresh]).drop(columns="evidence"))
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS), index=idx)
    return pd.concat(parts).reindex(idx)


def extract_frame(ads: pd.DataFrame) -> pd.DataFrame:
    """One row per ad (index: ``ads['id']``): the columns of :data:`COLUMNS` (tuples for
    names, ages and ethnicities). ``ads`` needs ``id``, ``title``, ``body``."""
    rows = [
        extract(t, b)
        for t, b in zip(
            ads.get("title", pd.Series(None, index=ads.index)),
            ads.get("body", pd.Series(None, index=ads.index)),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "text_names": [r.names for r in rows],
            "text_ages": [r.ages for r in rows],
            "ethnicities": [r.ethnicities for r in rows],
            **{k: [getattr(r, k) for r in rows] for k in BOOL_INDICATORS},
            "incall": [r.incall for r in rows],
            "evidence": [r.evidence for r in rows],
        },
        index=pd.Index(ads["id"].to_numpy(), name="id"),
    )


def group_evidence(ads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a group's ad texts say, with the ads each value comes from: one row per
    (indicator, value) -- ``{"indicator", "value", "ads": [ad ids], "words"}`` -- for
    names, ages, ethnicities, incall places and the flags (``value`` "yes", ``words`` the
    matched words of its first ad). ``ads``: dicts with ``ad``, ``title``, ``body``."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}

    def add(ind: str, value: object, ad: str, words: str = "") -> None:
        cell = cells.setdefault((ind, str(value)), {"indicator": ind, "value": str(value),
                                                    "ads": [], "words": words})  # fmt: skip
        if ad not in cell["ads"]:
            cell["ads"].append(ad)

    for a in ads:
        got = extract(a.get("title"), a.get("body"))
        ad = str(a.get("ad", a.get("id")))
        for n in got.names:
            add("name", n, ad)
        for v in got.ages:
            add("age", v, ad)
        for e in got.ethnicities:
            add("ethnicity", e, ad)
        if got.incall:
            add("incall", got.incall, ad)
        for k in BOOL_INDICATORS:
            if getattr(got, k):
                add(k, "yes", ad, got.evidence.get(k, ""))
    order = {k: i for i, k in enumerate(("name", "age", "ethnicity", *BOOL_INDICATORS, "incall"))}
    return sorted(cells.values(), key=lambda c: (order[c["indicator"]], -len(c["ads"]), c["value"]))
