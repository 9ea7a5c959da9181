"""Property tests (hypothesis) on the ad parser and the record readers.

- ``parse_ad`` on arbitrary dicts: it returns a valid ad or raises ``ValueError``/``TypeError``
  (which ``load_ads`` quarantines); nothing else escapes.
- The JSONL and CSV readers on arbitrary bytes never raise, and every non-blank JSONL line
  comes out exactly once, as fields or as an error.
- ``load_ads`` on arbitrary JSONL bytes: the summary reconciles and every rejected line is
  in the quarantine; in strict mode only ``InputError`` escapes.

The identifier extractor has its own properties in tests/test_identifiers_fuzz.py.
Examples per property: ``RELIABILITY_FUZZ_EXAMPLES`` (default 60; raise it for a hunt).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.loaders.ads import AD_FIELDS, MIN_TS, load_ads, parse_ad
from ownergraph.loaders.quarantine import InputError, Quarantine
from ownergraph.loaders.records import read_records
from ownergraph.store.embedded import EmbeddedStore

FUZZ = settings(max_examples=examples(60))
SLOW = settings(max_examples=examples(10))  # each example writes to a real store

NOW = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Apia"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers().map(lambda i: i * 10**300),  # does not fit a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(
        [
            "2016-03-13T02:30:00",
            "2016-11-06T01:30:00",
            "2016-05-01T10:00:00+05:30",
            "2016-02-30",
            "1462096800",
            "1e999",
            "NaN",
            "-Infinity",
            "NV",
            "Nevada",
            "bump",
            "yes",
            "call 702 555 0147",
            "７０２５５５０１４７",
            "a\x00b",
            "\ud800",
            "x" * 100_001,
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
ad_dicts = st.dictionaries(st.sampled_from(AD_FIELDS) | st.text(max_size=8), values, max_size=12)


def fields_with_id(d: dict) -> dict:
    return {"id": "x1", **d} if "id" not in d else d


@FUZZ
@given(ad_dicts.map(fields_with_id), st.sampled_from(ZONES))
def test_parse_ad_returns_a_valid_ad_or_raises_value_or_type_error(fields, zone):
    try:
        p = parse_ad(fields, tz=ZoneInfo(zone), now_ts=NOW)
    except (ValueError, TypeError):
        return
    ad = p.ad
    assert isinstance(ad["id"], str) and 0 < len(ad["id"]) <= 256
    assert ad["title"] or ad["body"]
    assert ad["posted_ts"] is None or MIN_TS <= ad["posted_ts"] <= NOW + 86_400
    assert ad["state"] is None or (len(ad["state"]) == 2 and ad["state"].isupper())
    assert ad["age"] is None or (type(ad["age"]) is int and 0 <= ad["age"] <= 120)
    assert ad["price_usd"] is None or 0 <= ad["price_usd"] < 1e6
    assert ad["sponsored"] in (None, True, False)
    for k in ("site", "url", "title", "body", "city", "category", "name", "post_kind"):
        assert ad[k] is None or isinstance(ad[k], str)
    assert all(m.e164.startswith("+") for m in p.phones)


lines = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.dictionaries(st.sampled_from(AD_FIELDS), scalars, max_size=6).map(
        lambda d: json.dumps(d, default=str).encode()
    ),
)
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-8/16/32


def jsonl_bytes(parts: list[bytes]) -> bytes:
    return b"\n".join(p.replace(b"\n", b" ") for p in parts)


@FUZZ
@given(st.lists(lines, max_size=8))
def test_jsonl_reader_never_raises_and_accounts_for_every_line(parts):
    data = jsonl_bytes(parts)
    if data.startswith(BOMS):
        data = b" " + data  # a BOM picks another encoding: covered by the CSV/BOM tests
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.jsonl"
        path.write_bytes(data)
        recs = list(read_records(path))
    expected = [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    assert [r.line for r in recs] == expected
    for r in recs:
        assert (r.fields is None) != (r.error is None)
        assert r.error is None or r.raw is not None  # the raw line goes to the quarantine


@FUZZ
@given(st.binary(max_size=300) | st.lists(lines, max_size=6).map(b"\n".join))
def test_csv_reader_never_raises_and_rows_are_header_shaped(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_bytes(b"id,title,body\n" + data)
        recs = list(read_records(path))
    last = 1
    for r in recs:
        assert r.line > last
        last = r.line
        assert (r.fields is None) != (r.error is None)
        if r.fields is not None:
            assert list(r.fields) == ["id", "title", "body"]
        else:
            assert r.raw is not None
    if b'"' not in data and b"\r" not in data and not data.startswith(BOMS):
        # Without quotes every line is one row: each non-blank one comes out once.
        texts = [x.decode("utf-8", "surrogateescape") for x in data.split(b"\n")]
        rows = [n for n, t in enumerate(texts, start=2) if "," in t or t.strip()]
        assert [r.line for r in recs] == rows


@SLOW
@given(st.lists(lines, min_size=1, max_size=6), st.integers(1, 3))
def test_load_ads_reconciles_and_strict_raises_only_input_error(parts, batch):
    data = jsonl_bytes(parts)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.jsonl"
        path.write_bytes(data)
        with EmbeddedStore(Path(d) / "g.lbug") as store:
            store.init_schema()
            qpath = Path(d) / "q.jsonl"
            with Quarantine(qpath) as q:
                s = load_ads(store, path, quarantine=q, batch_size=batch)
            assert s.reconciles
            n_q = len(qpath.read_text().splitlines()) if qpath.exists() else 0
            assert n_q == s.quarantined
            assert store.counts()["Ad"] == s.loaded - s.duplicates
            try:
                load_ads(store, path, quarantine=Quarantine(strict=True), batch_size=batch)
            except InputError as exc:
                assert str(path) in str(exc) and s.quarantined > 0
            else:
                assert s.quarantined == 0
