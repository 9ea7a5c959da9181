"""Property tests (hypothesis) on the Bitcoin parsers.

- RPC JSON of any shape (valid blocks with fields dropped or replaced by junk): without
  ``strict`` the load never raises and its counts reconcile (``LoadSummary.check``); with
  ``strict`` only ``BitcoinFormatError`` escapes.
- Raw bytes (arbitrary, and valid blocks truncated / bit-flipped / extended) as ``raw``
  and ``blk`` files: the same two properties.
- Mempool first-seen CSV of arbitrary bytes: the same.
- Round trip: random transactions serialized with embit into a block parse back to the
  same txids, input outpoints, output values and addresses (embit derives the addresses).

Examples per property: ``RELIABILITY_FUZZ_EXAMPLES`` (default 40: each example runs a whole
load; set it to thousands for a hunt).

A byte that is not UTF-8 in an RPC JSON file or a mempool CSV is a quarantined
``BitcoinFormatError`` naming the line (it once escaped as ``UnicodeDecodeError``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput
from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.loaders.bitcoin import BitcoinFormatError, load_bitcoin
from ownergraph.loaders.bitcoin_raw import MAINNET_MAGIC, merkle_root, mine_header
from ownergraph.loaders.quarantine import Quarantine

REGTEST_MAGIC = bytes.fromhex("fabfb5da")  # the test blocks are mined at regtest difficulty

FUZZ = settings(max_examples=examples(40))


def load_both_ways(paths: list[Path], fmt: str, **kw) -> None:
    """Lenient load never raises (and reconciles); strict raises only BitcoinFormatError."""
    q = Quarantine()
    t = load_bitcoin(paths, fmt=fmt, quarantine=q, **kw)
    t.summary.check()
    s = t.summary
    assert s.txs_loaded == len(t.txs)
    rejected = s.blocks_quarantined + s.txs_quarantined + s.values_rejected
    rejected += s.mempool_quarantined
    assert q.count >= (1 if rejected else 0)
    if q.count == 0:
        return  # nothing to reject: the strict run is the same run
    try:
        load_bitcoin(paths, fmt=fmt, strict=True, **kw)
    except BitcoinFormatError as exc:
        assert str(paths[0].parent) in str(exc)
    else:
        raise AssertionError("strict load accepted what the lenient load quarantined")


# -- RPC JSON -----------------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the valid value, sometimes junk."""
    return st.one_of(valid, valid, valid, junk)


hexid = st.binary(min_size=32, max_size=32).map(bytes.hex)
amount = st.one_of(
    st.integers(0, 21_000_000),
    st.integers(0, 2_100_000_000_000_000).map(lambda sat: float(f"{sat / 1e8:.8f}")),
    st.floats(-1, 1e8),
)
spk = st.fixed_dictionaries(
    {
        "type": maybe(st.sampled_from(["pubkeyhash", "scripthash", "nulldata", "weird"])),
        "address": maybe(st.sampled_from(["1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "3J98t1"])),
    },
    optional={"hex": maybe(st.binary(max_size=30).map(bytes.hex)), "addresses": junk},
)
vout = st.fixed_dictionaries(
    {"value": maybe(amount), "n": maybe(st.integers(0, 3)), "scriptPubKey": maybe(spk)}
)
vin = st.one_of(
    st.fixed_dictionaries(
        {"txid": maybe(hexid), "vout": maybe(st.integers(0, 3))},
        optional={
            "scriptSig": maybe(
                st.fixed_dictionaries({"hex": maybe(st.binary(max_size=80).map(bytes.hex))})
            ),
            "txinwitness": maybe(st.lists(st.binary(max_size=40).map(bytes.hex), max_size=3)),
            "prevout": maybe(
                st.fixed_dictionaries({"value": maybe(amount), "scriptPubKey": maybe(spk)})
            ),
        },
    ),
    st.fixed_dictionaries({"coinbase": st.just("03a08601")}),
)
tx = st.fixed_dictionaries(
    {
        "txid": maybe(hexid),
        "vin": maybe(st.lists(vin, max_size=3)),
        "vout": maybe(st.lists(vout, max_size=3)),
    },
    optional={"blocktime": junk},
)
block = st.fixed_dictionaries(
    {"tx": maybe(st.lists(maybe(tx), max_size=4))},
    optional={
        "hash": maybe(hexid),
        "height": maybe(st.integers(0, 10**6)),
        "time": maybe(st.integers(1231006505, 2**32)),
    },
)
rpc_value = st.one_of(
    block,
    tx,
    junk,
    st.fixed_dictionaries({"result": st.one_of(block, st.none()), "error": junk, "id": junk}),
)


@FUZZ
@given(st.lists(rpc_value, min_size=1, max_size=4), st.sampled_from(["jsonl", "array", "one"]))
def test_rpc_json_of_any_shape(values, layout):
    if layout == "jsonl":
        text = "".join(json.dumps(v) + "\n" for v in values)
    elif layout == "array":
        text = json.dumps(values)
    else:
        text = json.dumps(values[0], indent=1)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "blocks.json"
        path.write_text(text)
        load_both_ways([path], "rpc")


utf8_bytes = st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
utf8_bytes |= st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b))


@FUZZ
@given(utf8_bytes)
def test_rpc_file_of_arbitrary_text(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "blocks.json"
        path.write_bytes(b"{" + data)
        load_both_ways([path], "rpc")


@pytest.mark.parametrize("where", ["first line", "later line"])
def test_rpc_file_with_a_byte_that_is_not_utf8(tmp_path, where):
    good = json.dumps({"height": 1, "time": 1464220800, "tx": []}).encode()
    bad = b'{"height": 2, "time": 1464220801, "hash": "\xff", "tx": []}'
    path = tmp_path / "blocks.jsonl"
    path.write_bytes(bad + b"\n" + good + b"\n" if where == "first line" else good + b"\n" + bad)
    load_both_ways([path], "rpc")


# -- raw blocks ---------------------------------------------------------------------------

scripts = st.one_of(
    st.binary(min_size=20, max_size=20).map(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac"),
    st.binary(min_size=20, max_size=20).map(lambda h: b"\xa9\x14" + h + b"\x87"),
    st.binary(min_size=20, max_size=20).map(lambda h: b"\x00\x14" + h),
    st.binary(min_size=32, max_size=32).map(lambda h: b"\x00\x20" + h),
    st.binary(min_size=32, max_size=32).map(lambda h: b"\x51\x20" + h),
    st.binary(max_size=40).map(lambda b: b"\x6a" + bytes([len(b)]) + b),
    st.binary(max_size=30),
)
txins = st.builds(
    lambda txid, n, sig, seq, wit: TransactionInput(txid, n, Script(sig), seq, Witness(wit)),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32 - 2),
    st.binary(max_size=80),
    st.integers(0, 2**32 - 1),
    st.lists(st.binary(max_size=40), max_size=3),
)
txouts = st.builds(
    lambda v, s: TransactionOutput(v, Script(s)), st.integers(0, 21 * 10**14), scripts
)
txs = st.builds(
    lambda i, o, lt, segwit: Transaction(2, i, o, lt) if segwit else Transaction(1, i, o, lt),
    st.lists(txins, min_size=1, max_size=3),
    st.lists(txouts, min_size=1, max_size=3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)


def coinbase(height: int) -> Transaction:
    sig = Script(b"\x03" + height.to_bytes(3, "little") + b"fuzz")
    out = TransactionOutput(50 * 10**8, Script(b"\x00\x14" + b"\x01" * 20))
    return Transaction(1, [TransactionInput(b"\x00" * 32, 0xFFFFFFFF, sig)], [out], 0)


def block_bytes(body: list[Transaction], height: int) -> bytes:
    all_txs = [coinbase(height), *body]
    header = mine_header(
        (4).to_bytes(4, "little")
        + hashlib.sha256(b"%d" % height).digest()
        + merkle_root([t.hash() for t in all_txs])
        + (1464220800 + height).to_bytes(4, "little")
        + bytes.fromhex("ffff7f20")  # regtest bits
    )
    n = len(all_txs)
    return header + bytes([n]) + b"".join(t.serialize() for t in all_txs)


def txids_in_block(body: list[Transaction]) -> int:
    """Distinct transactions of a block (a random body may repeat one)."""
    return len({t.txid() for t in body} | {b"cb"})


@FUZZ
@given(st.lists(txs, max_size=4), st.integers(1, 800_000))
def test_random_transactions_round_trip_through_a_raw_block(body, height):
    data = block_bytes(body, height)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "b.raw"
        path.write_bytes(data)
        t = load_bitcoin([path], fmt="raw", strict=True)
    assert list(t.txs["block_height"].unique()) == [height]
    assert set(t.txs["txid"]) == {coinbase(height).txid().hex()} | {x.txid().hex() for x in body}
    assert len(t.txs) == txids_in_block(body)
    for x in body:
        tid = x.txid().hex()
        ins = t.inputs[t.inputs["txid"] == tid].sort_values("vin")
        assert list(ins["prev_txid"]) == [i.txid.hex() for i in x.vin]
        assert list(ins["prev_vout"]) == [i.vout for i in x.vin]
        outs = t.outputs[t.outputs["txid"] == tid].sort_values("vout")
        assert list(outs["sat"]) == [o.value for o in x.vout]
        for o, addr in zip(x.vout, outs["address"], strict=True):
            try:
                expected = o.script_pubkey.address()
            except Exception:  # noqa: BLE001 - embit: no address for this script
                expected = None
            if expected is not None and not pd.isna(addr):
                assert addr == expected
            if o.script_pubkey.data[:2] in (b"\x00\x14", b"\x00\x20") and len(
                o.script_pubkey.data
            ) in (22, 34):
                assert addr == expected  # segwit v0: both must agree, never missing


def blk_bytes(blocks: list[bytes]) -> bytes:
    return b"".join(REGTEST_MAGIC + len(b).to_bytes(4, "little") + b for b in blocks)


@FUZZ
@given(
    st.lists(txs, max_size=2),
    st.sampled_from(["cut", "flip", "extend", "insert"]),
    st.integers(0, 10**6),
    st.binary(min_size=1, max_size=8),
    st.sampled_from(["raw", "blk"]),
)
def test_damaged_blocks_are_quarantined_never_raised(body, how, where, extra, fmt):
    data = block_bytes(body, 1000)
    pos = where % len(data)
    if how == "cut":
        bad = data[:pos]
    elif how == "flip":
        bad = data[:pos] + bytes([data[pos] ^ extra[0]]) + data[pos + 1 :]
    elif how == "extend":
        bad = data + extra
    else:
        bad = data[:pos] + extra + data[pos:]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("b.raw" if fmt == "raw" else "blk00000.dat")
        path.write_bytes(bad if fmt == "raw" else blk_bytes([data, bad, data]))
        load_both_ways([path], fmt)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["raw", "blk"]))
def test_arbitrary_bytes_as_raw_or_blk(data, fmt):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "b.dat"
        path.write_bytes(MAINNET_MAGIC + data if fmt == "blk" else data)
        load_both_ways([path], fmt)


# -- mempool logs -------------------------------------------------------------------------


def test_mempool_csv_with_a_byte_that_is_not_utf8(tmp_path):
    blocks = tmp_path / "blocks.jsonl"
    blocks.write_text(json.dumps({"height": 1, "time": 1464220800, "tx": []}) + "\n")
    log = tmp_path / "mempool.csv"
    log.write_bytes(b"txid,first_seen\n" + b"ab\xff,1464220800\n")
    load_both_ways([blocks], "rpc", mempool=[log])


@FUZZ
@given(utf8_bytes)
def test_mempool_csv_of_arbitrary_text(data):
    with tempfile.TemporaryDirectory() as d:
        blocks = Path(d) / "blocks.jsonl"
        blocks.write_text(json.dumps({"height": 1, "time": 1464220800, "tx": []}) + "\n")
        log = Path(d) / "mempool.csv"
        log.write_bytes(b"txid,first_seen\n" + data)
        load_both_ways([blocks], "rpc", mempool=[log])
