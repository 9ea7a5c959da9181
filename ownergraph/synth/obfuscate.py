"""Phone numbers and e-mail addresses written the ways real ads write them.

Separators, brackets, emoji between digit groups, digits spelled as words, look-alike
letters (O for 0, l for 1), and Unicode digit forms (fullwidth, circled, bold, keycap).
"""

from __future__ import annotations

from random import Random

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_FULLWIDTH = "０１２３４５６７８９"
_CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨"
_NEG_CIRCLED = "⓿❶❷❸❹❺❻❼❽❾"
_BOLD = "".join(chr(0x1D7CE + i) for i in range(10))
_KEYCAP = tuple(f"{d}\ufe0f\u20e3" for d in "0123456789")

SEPARATORS = ("~", "/", "_", "|", " - ", "..", "-*-", "•", " . ", ")(")

# form -> relative frequency among writers
PHONE_FORMS: dict[str, float] = {
    "dash": 20,
    "paren": 12,
    "dot": 8,
    "plain": 14,
    "space": 6,
    "star": 4,
    "sep": 4,
    "plus1": 3,
    "emoji": 3,
    "spaced": 2,
    "words_mixed": 5,
    "words": 2,
    "lookalike": 4,
    "fullwidth": 1,
    "circled": 1,
    "bold": 1,
    "neg_circled": 1,
    "keycap": 1,
}

EMAIL_FORMS: dict[str, float] = {
    "plain": 10,
    "at_dot": 4,
    "paren": 3,
    "bracket": 2,
    "spaced": 2,
    "caps_at": 1,
}


def _map_digits(digits: str, table: str | tuple[str, ...], sep: str = "") -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return sep.join("".join(table[int(d)] for d in g) for g in (a, b, c))


def _words_mixed(digits: str, rng: Random, rate: float) -> str:
    groups = (digits[:3], digits[3:6], digits[6:])
    out = []
    for g in groups:
        out.append("".join(DIGIT_WORDS[int(d)] if rng.random() < rate else d for d in g))
    return " ".join(out)


def render_phone(digits: str, form: str, rng: Random, *, sep: str = "~", emoji: str = "💋") -> str:
    """Write a 10-digit North American number in one of ``PHONE_FORMS``."""
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError(f"need 10 national digits, got {digits!r}")
    a, b, c = digits[:3], digits[3:6], digits[6:]
    if form == "dash":
        return f"{a}-{b}-{c}"
    if form == "paren":
        return f"({a}) {b}-{c}" if rng.random() < 0.8 else f"({a}){b}-{c}"
    if form == "dot":
        return f"{a}.{b}.{c}"
    if form == "plain":
        return digits
    if form == "space":
        return f"{a} {b} {c}"
    if form == "star":
        return f"{a}*{b}*{c}"
    if form == "sep":
        return f"{a}{sep}{b}{sep}{c}"
    if form == "plus1":
        return f"+1 {a} {b} {c}" if rng.random() < 0.5 else f"1-{a}-{b}-{c}"
    if form == "emoji":
        return f"{a}{emoji}{b}{emoji}{c}"
    if form == "spaced":
        return " ".join(digits)
    if form == "words_mixed":
        return _words_mixed(digits, rng, 0.35)
    if form == "words":
        return " ".join(
            ("oh" if d == "0" and rng.random() < 0.3 else DIGIT_WORDS[int(d)]) for d in digits
        )
    if form == "lookalike":
        swapped = digits.replace("0", "O" if rng.random() < 0.7 else "o")
        swapped = swapped.replace("1", "l" if rng.random() < 0.6 else "I")
        return f"{swapped[:3]} {swapped[3:6]} {swapped[6:]}"
    if form == "fullwidth":
        return _map_digits(digits, _FULLWIDTH, "-")
    if form == "circled":
        return _map_digits(digits, _CIRCLED, " ")
    if form == "bold":
        return _map_digits(digits, _BOLD, ".")
    if form == "neg_circled":
        return _map_digits(digits, _NEG_CIRCLED, "")
    if form == "keycap":
        return _map_digits(digits, _KEYCAP, " ")
    raise ValueError(f"unknown phone form {form!r}; known: {sorted(PHONE_FORMS)}")


def render_email(address: str, form: str) -> str:
    """Write an e-mail address in one of ``EMAIL_FORMS``."""
    local, _, domain = address.partition("@")
    host, _, tld = domain.rpartition(".")
    if form == "plain":
        return address
    if form == "at_dot":
        return f"{local} at {host} dot {tld}"
    if form == "paren":
        return f"{local} (at) {host} (dot) {tld}"
    if form == "bracket":
        return f"{local}[at]{host}[.]{tld}"
    if form == "spaced":
        return f"{local} @ {host} . {tld}"
    if form == "caps_at":
        return f"{local} AT {host} DOT {tld}"
    raise ValueError(f"unknown e-mail form {form!r}; known: {sorted(EMAIL_FORMS)}")


def weighted_choice(rng: Random, table: dict[str, float]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]
