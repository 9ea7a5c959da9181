"""Identifier extraction: each obfuscation class, the false positives it must avoid,
E.164 with other default regions, e-mail spellings, keyed digests, and the real ground
truth (realdata)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ownergraph.loaders.identifiers import (
    EmailMatch,
    PhoneMatch,
    extract_emails,
    extract_identifiers,
    extract_phones,
    hash_identifier,
)

N = "+14155550132"  # the number most examples spell out: 415 555 0132


def e164s(text: str, region: str = "US") -> list[str]:
    return [m.e164 for m in extract_phones(text, region)]


def only(text: str, region: str = "US") -> PhoneMatch:
    found = extract_phones(text, region)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- classes


@pytest.mark.parametrize(
    "text",
    [
        "Call (415) 555-0132 today",
        "text 415.555.0132",
        "4155550132 anytime",
        "+1 415 555 0132",
        "1-415-555-0132",
        "me at 415 555 0132.",
        "ring4155550132now",
    ],
)
def test_plain_formats(text: str) -> None:
    m = only(text)
    assert m.e164 == N
    assert m.method == "plain"
    assert m.confidence == pytest.approx(0.99)


@pytest.mark.parametrize(
    "text",
    [
        "415*555*0132",
        "415_555_0132",
        "415~555~0132",
        "415 // 555 // 0132",
        "4 1 5 5 5 5 0 1 3 2",
        "415=555=0132",
        "415$555$0132",
        "415::555::0132",
        "4155x550x132",
    ],
)
def test_separators(text: str) -> None:
    m = only(f"new in town {text} ask for Mia")
    assert m.e164 == N
    assert m.method == "separators"


@pytest.mark.parametrize(
    "text",
    [
        "415💋555💋0132",
        "415 🌹 555 🌹 0132",
        "415✨✨555✨✨0132",
    ],
)
def test_emoji_between_groups(text: str) -> None:
    m = only(f"sweet and fun {text} no blocked calls")
    assert m.e164 == N
    assert "separators" in m.method
    assert m.raw in text and m.raw.startswith("4") and "2" in m.raw[-3:]


@pytest.mark.parametrize(
    "text",
    [
        "4️⃣1️⃣5️⃣5️⃣5️⃣5️⃣0️⃣1️⃣3️⃣2️⃣",
        "4️⃣1️⃣5️⃣ 555 0132",
        "41⃣5 5⃣55 013⃣2",  # keycap without the variation selector
        "4155550⃝132",  # enclosing circle
        "415555O️⃣132",  # keycap on a look-alike letter beside real digits
    ],
)
def test_keycap_and_enclosed_digits_are_digits(text: str) -> None:
    m = only(f"sweet and fun {text} no blocked calls")
    assert m.e164 == N
    assert "unicode" in m.method
    assert m.raw in text and m.raw.startswith("4")


def test_keycap_digit_then_look_alike_letter() -> None:
    """Found by ./scripts/fuzz: the keycap marks used to split "0️⃣O" into two tokens."""
    m = only("212200000️⃣O")
    assert (m.e164, m.method) == ("+12122000000", "unicode+homoglyph")


@pytest.mark.parametrize(
    "text",
    [
        "four one five five five five zero one three two",
        "FOUR15 five55 0one32",
        "four one five. five five five. zero one thirty two",
        "Four1Five FiveFiveFive ZeroOneThreeTwo",
        "four one five five five five oh one three two",
    ],
)
def test_number_words(text: str) -> None:
    m = only(f"hi gents {text} incall only")
    assert m.e164 == N
    assert "words" in m.method
    assert m.confidence < 0.99


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("4one5-fiv35five-0one3two", N),
        ("f0ur15 s3ven5five z3ro132", "+14157550132"),
        ("for15 555 0132", N),  # "for" read as 4 only glued to digits
        ("ate18 555 0132", "+18185550132"),
        ("41five 555 01thirty2", N),
    ],
)
def test_mixed_word_digit(text: str, number: str) -> None:
    m = only(text)
    assert m.e164 == number
    assert "words" in m.method


@pytest.mark.parametrize(
    "text",
    ["4l5-555-Ol32", "415.555.O132", "4I5 555 0I32", "415 555 0l32", "41\u041e 555 0132"],
)
def test_homoglyph_letters(text: str) -> None:
    m = only(f"call {text}")
    assert m.e164 in (N, "+14105550132")
    assert "homoglyph" in m.method


def test_homoglyphs_only_next_to_digits() -> None:
    # ordinary words made of look-alike letters are not numbers
    assert extract_phones("lol oil IOI Ill loo I love it, Oh lo") == []
    assert e164s("I 415 555 0132") == [N]


@pytest.mark.parametrize(
    "text",
    [
        "４１５－５５５－０１３２",  # fullwidth
        "④①⑤⑤⑤⑤⓪①③②",  # circled
        "𝟒𝟏𝟓 𝟓𝟓𝟓 𝟎𝟏𝟑𝟐",  # mathematical bold
        "𝟺𝟷𝟻.𝟻𝟻𝟻.𝟶𝟷𝟹𝟸",  # mathematical monospace
        "٤١٥٥٥٥٠١٣٢",  # Arabic-Indic
        "४१५-५५५-०१३२",  # Devanagari
        "❹❶❺ ❺❺❺ ⓿❶❸❷",  # dingbat negative circled
        "⁴¹⁵⁵⁵⁵⁰¹³²",  # superscripts
    ],
)
def test_unicode_digits(text: str) -> None:
    m = only(f"call {text} now")
    assert m.e164 == N
    assert "unicode" in m.method
    assert m.raw in text and len(m.raw) >= 10  # the span as written, not the folded form


# ---------------------------------------------------------------- false positives


@pytest.mark.parametrize(
    "text",
    [
        "$150 for 30 min, $250 for the hour",
        "I'm 23 years old and 5'6 120 lbs",
        "available 10pm-4am 7 days",
        "open 24/7 365 days",
        "incall near 90210 and 90028, 90038",
        "in town 12/25/2019 till 01/02/2020",
        "2019-06-17 21:00 only",
        "100% real 100% independent",
        "rates 150/hh 250/hr 300 overnight",
        "34C-24-36 measurements",
        "Call me 555-0132",  # no area code: not a full number
        "5'5 130 / 5\"3 120",
        "30-45, 90 1, 120 roses",
        "visiting 11/17-11/20 2015 only",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert extract_phones(text) == []


def test_price_or_age_is_not_glued_to_a_number() -> None:
    assert e164s("$250 555-0132") == []
    assert e164s("age 23 415 555 0132") == [N]
    assert e164s("24/7 415-555-0132 100% real") == [N]
    assert e164s("10/11 (415)555-0132 - 20") == [N]


# ---------------------------------------------------------------- regions, order, errors


@pytest.mark.parametrize(
    ("text", "region", "number"),
    [
        ("ring 07911 123456", "GB", "+447911123456"),
        ("0412 345 678 text only", "AU", "+61412345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0151 2345 6789", "DE", "+4915123456789"),
        ("+1 415 555 0132", "GB", N),
        ("+44 7911 123456", "US", "+447911123456"),
        ("011 44 7911 123456", "US", "+447911123456"),
    ],
)
def test_e164_with_default_region(text: str, region: str, number: str) -> None:
    assert e164s(text, region) == [number]


def test_national_number_needs_its_region() -> None:
    assert e164s("ring 07911 123456", "US") == []
    assert e164s("ring 07911 123456", "gb") == ["+447911123456"]


def test_dedup_and_order() -> None:
    text = "312-555-0147 or four one five 555 0132, again (312) 555 0147 and 415*555*0132"
    found = extract_phones(text)
    assert [m.e164 for m in found] == ["+13125550147", N]
    assert found[0].raw == "312-555-0147"  # the first occurrence is kept
    assert found[1].method == "words"


def test_numbers_in_urls_are_plain_only() -> None:
    found = extract_phones("pics at http://example.com/u/415-555-0132/p?id=20 call")
    assert [(m.e164, m.method) for m in found] == [(N, "url")]
    # digits on both sides of a URL do not join into a number
    assert extract_phones("415 http://x.io/a 555 0132") == []


def test_bad_input_errors() -> None:
    with pytest.raises(ValueError, match="default_region 'XX'"):
        extract_phones("415 555 0132", "XX")
    with pytest.raises(TypeError, match="got bytes"):
        extract_phones(b"415 555 0132")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        extract_emails(None)  # type: ignore[arg-type]
    assert extract_phones("") == [] and extract_emails("") == []


# ---------------------------------------------------------------- e-mails


@pytest.mark.parametrize(
    ("text", "address", "method"),
    [
        ("mail Mia.Rose+ads@Example.COM now", "mia.rose+ads@example.com", "plain"),
        ("mia (at) example (dot) com", "mia@example.com", "brackets"),
        ("mia[at]example[.]com", "mia@example.com", "brackets"),
        ("mia {at} mail {dot} example {dot} org", "mia@mail.example.org", "brackets"),
        ("mia @ example . com", "mia@example.com", "spaced"),
        ("mia_77 at example dot net", "mia_77@example.net", "words"),
        ("ｍｉａ＠ｅｘａｍｐｌｅ．ｃｏｍ", "mia@example.com", "plain"),
    ],
)
def test_email_forms(text: str, address: str, method: str) -> None:
    found = extract_emails(f"contact: {text} thanks")
    assert [(e.address, e.method) for e in found] == [(address, method)]
    assert found[0].raw in f"contact: {text} thanks"
    assert 0 < found[0].confidence <= 1


@pytest.mark.parametrize(
    "text",
    [
        "you will feel at ease. My place is clean",
        "booking at www.example.com today",
        "VIDEO @ www.example.com",
        "meet me at home dot qqqq",
        "100% real @ 9pm",
        "at the hotel dot",
    ],
)
def test_not_emails(text: str) -> None:
    assert extract_emails(text) == []


def test_identifiers_together() -> None:
    ids = extract_identifiers("mia (at) example (dot) com or 415*555*0132", "US")
    assert [m.e164 for m in ids.phones] == [N]
    assert ids.emails == [EmailMatch("mia@example.com", "mia (at) example (dot) com",
                                     "brackets", 0.95)]  # fmt: skip


# ---------------------------------------------------------------- keyed digests

KEY = b"\x0b" * 20


def test_hash_identifier_is_hmac_sha256() -> None:
    # RFC 4231 test case 1
    assert hash_identifier("Hi There", KEY) == (
        "hmac-sha256:b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )


def test_hash_identifier_matches_only_with_the_same_key() -> None:
    a = hash_identifier(N, b"org-shared-secret-0001")
    assert a == hash_identifier(N, b"org-shared-secret-0001")
    assert a != hash_identifier(N, b"org-shared-secret-0002")
    assert a != hash_identifier("+14155550133", b"org-shared-secret-0001")
    assert N not in a and "4155550132" not in a


def test_hash_identifier_rejects_weak_input() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        hash_identifier(N, b"short")
    with pytest.raises(ValueError, match="non-empty"):
        hash_identifier("", KEY)


# ---------------------------------------------------------------- real ground truth


def _bench_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_identifiers.py"
    spec = importlib.util.spec_from_file_location("bench_identifiers", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.realdata
def test_groundtruth_precision_recall(shared_data: Path) -> None:
    bench = _bench_module()
    ads = bench.load_groundtruth(shared_data / "ads" / "obfuscated_phones_groundtruth.json")
    score = bench.score(ads, bench.ours, regions="site")
    assert score.gold >= 50
    assert score.recall >= 0.95, score
    assert score.precision >= 0.95, score
    plain = bench.score(ads, bench.plain, regions="site")
    assert score.recall > plain.recall


def test_digit_run_longer_than_e164_is_not_a_number() -> None:
    # 14 national digits after +49 would be 16 digits: E.164 allows 15 (found by hypothesis)
    assert extract_phones("20100000000000", "DE") == []
    assert [m.e164 for m in extract_phones("call +49 201 1234567 now", "DE")] == ["+492011234567"]
