"""Property tests for identifier extraction (bounded example counts for CI)."""

from __future__ import annotations

import phonenumbers
from fuzzing import examples
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from ownergraph.loaders.identifiers import extract_emails, extract_phones, hash_identifier

#: 200 examples per property under the test command; ./scripts/fuzz runs many more.
FUZZ = settings(max_examples=examples(200))

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LEET = ["z3r0", "0ne", "tw0", "thr33", "f0ur", "f1ve", "s1x", "s3ven", "e1ght", "n1ne"]
FORMS = {
    "fullwidth": lambda d: chr(0xFF10 + d),
    "bold": lambda d: chr(0x1D7CE + d),
    "circled": lambda d: "\u24ea" if d == 0 else chr(0x2460 + d - 1),
    "arabic": lambda d: chr(0x0660 + d),
    "keycap": lambda d: f"{d}\ufe0f\u20e3",
}
SEPARATORS = ["", " ", "-", ".", "*", "_", "~", "/", " 💋 ", "🌹", ") ", " • ", "::", "$"]
FILLER = st.sampled_from(["call me", "new in town", "sweet & fun", "ask for Mia", "xx", ""])
AREA_CODES = [212, 213, 310, 312, 323, 347, 404, 415, 512, 602, 617, 646, 702, 714, 818, 949]
REGIONS = ["US", "GB", "DE", "FR", "AU", "JP", "IN", "BR", "MX", "IT", "ES", "NL"]


@st.composite
def us_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(AREA_CODES))
    exchange = draw(st.integers(200, 999))
    line = draw(st.integers(0, 9999))
    national = f"{area}{exchange}{line:04d}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(national, "US")))
    return national


@st.composite
def obfuscated(draw: st.DrawFn, national: str) -> str:
    """The number in 3-3-4 groups (or random groups), each digit in a random form."""
    sizes = draw(st.sampled_from([(3, 3, 4), (3, 7), (10,), (3, 3, 2, 2), (1,) * 10]))
    groups, pos = [], 0
    for size in sizes:
        groups.append(national[pos : pos + size])
        pos += size
    rendered = []
    for g in groups:
        parts = []
        for ch in g:
            d = int(ch)
            kind = draw(st.sampled_from(["digit", "digit", "word", "leet", "form", "glyph"]))
            if kind == "word":
                w = WORDS[d]
                parts.append(draw(st.sampled_from([w, w.upper(), w.title()])))
            elif kind == "leet":
                parts.append(LEET[d])
            elif kind == "form":
                parts.append(FORMS[draw(st.sampled_from(sorted(FORMS)))](d))
            elif kind == "glyph" and d in (0, 1):
                parts.append(draw(st.sampled_from(["O", "o"] if d == 0 else ["l", "I"])))
            else:
                parts.append(ch)
        # look-alike letters count only in a group that keeps a real digit
        if any(p in ("O", "o", "l", "I") for p in parts) and not any(
            p[0].isdigit() for p in parts if p not in ("O", "o", "l", "I")
        ):
            parts = [g[k] if p in ("O", "o", "l", "I") else p for k, p in enumerate(parts)]
        rendered.append("".join(parts))
    seps = [draw(st.sampled_from(SEPARATORS)) for _ in rendered[1:]]
    if "$" in seps[:1] and len(rendered) > 1:
        seps[0] = "*"
    text = rendered[0] + "".join(s + r for s, r in zip(seps, rendered[1:], strict=True))
    return text


def _valid_e164(e164: str) -> bool:
    num = phonenumbers.parse(e164)
    return (
        phonenumbers.is_valid_number(num)
        and phonenumbers.format_number(num, PhoneNumberFormat.E164) == e164
    )


@FUZZ
@given(st.text(max_size=400), st.sampled_from(REGIONS))
def test_arbitrary_text_never_raises_and_outputs_valid_e164(text: str, region: str) -> None:
    found = extract_phones(text, region)
    assert len({m.e164 for m in found}) == len(found)
    for m in found:
        assert _valid_e164(m.e164)
        assert m.raw and m.raw in text
        assert 0 < m.confidence <= 1
    for e in extract_emails(text):
        assert e.address == e.address.lower() and e.address.count("@") == 1
        assert e.raw in text


DIGITISH = st.lists(
    st.sampled_from(list("0123456789 -.*()+/_~$%'\"oOlIi,x") + ["five", "one", "💋"]),
    max_size=40,
).map("".join)


@FUZZ
@given(DIGITISH, st.sampled_from(REGIONS))
def test_digit_heavy_text_outputs_valid_e164(text: str, region: str) -> None:
    for m in extract_phones(text, region):
        assert _valid_e164(m.e164)
        assert m.raw in text


@FUZZ
@given(DIGITISH, st.sampled_from(["US", "GB", "DE", "IN"]))
@example("1640", "DE")  # found by ./scripts/fuzz: +491640 has 6 digits, fewer than the old 7
def test_found_numbers_are_found_again_in_plain_renderings(text: str, region: str) -> None:
    for m in extract_phones(text, region):
        num = phonenumbers.parse(m.e164)
        for fmt in (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL):
            rendering = phonenumbers.format_number(num, fmt)
            assert [x.e164 for x in extract_phones(f"call {rendering} now", region)] == [m.e164]
        if phonenumbers.region_code_for_number(num) == region:
            national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
            assert m.e164 in [x.e164 for x in extract_phones(national, region)]
        assert m.e164 in [x.e164 for x in extract_phones(m.raw, region)]


@FUZZ
@given(us_numbers().flatmap(lambda n: st.tuples(st.just(n), obfuscated(n))), FILLER, FILLER)
@example(("2122000000", "212200000\ufe0f\u20e3O"), "", "")  # keycap digit, then look-alike O
def test_obfuscated_us_number_is_found(pair: tuple[str, str], before: str, after: str) -> None:
    national, text = pair
    found = extract_phones(f"{before} {text} {after}")
    assert "+1" + national in [m.e164 for m in found], (text, found)


@FUZZ
@given(
    st.sampled_from(REGIONS),
    st.sampled_from(["-", " ", ".", "*", " 💋 ", "_"]),
    FILLER,
)
def test_national_numbers_of_many_regions_are_found(region: str, sep: str, filler: str) -> None:
    num = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    text = "".join(sep if c in " -" else c for c in national)
    expected = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    assert expected in [m.e164 for m in extract_phones(f"{filler} {text} {filler}", region)]


@FUZZ
@given(st.text(min_size=1, max_size=50), st.binary(min_size=16, max_size=64))
def test_hash_identifier_is_a_function_of_value_and_key(value: str, key: bytes) -> None:
    h = hash_identifier(value, key)
    assert h == hash_identifier(value, key)
    assert h.startswith("hmac-sha256:") and len(h) == len("hmac-sha256:") + 64
    assert h != hash_identifier(value + "x", key)
