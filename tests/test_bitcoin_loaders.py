"""Bitcoin loaders on hand-built fixtures: raw/blk blocks (serialized with embit) and RPC JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from embit import script as es
from embit.ec import PrivateKey
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from ownergraph.loaders.bitcoin import BitcoinFormatError, detect_format, load_bitcoin
from ownergraph.loaders.bitcoin_raw import merkle_root, mine_header
from ownergraph.loaders.bitcoin_script import classify_output, input_address
from ownergraph.loaders.quarantine import Quarantine

REGTEST_MAGIC = bytes.fromhex("fabfb5da")  # the test blocks are mined at regtest difficulty

# -- fixture builders ---------------------------------------------------------------------


def key(seed: str) -> PrivateKey:
    return PrivateKey(hashlib.sha256(seed.encode()).digest())


def der_sig(k: PrivateKey) -> bytes:
    return k.sign(hashlib.sha256(b"fixture").digest()).serialize() + b"\x01"


def push(data: bytes) -> bytes:
    assert len(data) < 0x4C
    return bytes([len(data)]) + data


K1, K2, K3, K4 = key("k1"), key("k2"), key("k3"), key("k4")
PUB1, PUB2, PUB3, PUB4 = (k.get_public_key() for k in (K1, K2, K3, K4))
MULTISIG = es.multisig(1, [PUB3, PUB4])
UNKNOWN_TXID = bytes(range(32))
TIME = 1464307123
REGTEST_BITS = bytes.fromhex("ffff7f20")  # 0x207fffff, little-endian
HEIGHT = 500_000


def coinbase_tx(height: int, outputs: list[TransactionOutput]) -> Transaction:
    sig = Script(b"\x03" + height.to_bytes(3, "little") + b"\x04fixt")
    return Transaction(1, [TransactionInput(b"\x00" * 32, 0xFFFFFFFF, sig)], outputs, 0)


def spend(prev: Transaction | bytes, vout: int, script_sig: bytes = b"", witness=None):
    txid = prev.txid() if isinstance(prev, Transaction) else prev
    return TransactionInput(txid, vout, Script(script_sig), 0xFFFFFFFF, Witness(witness or []))


def p2pkh_sig(k: PrivateKey) -> bytes:
    return push(der_sig(k)) + push(k.get_public_key().sec())


def block_bytes(txs: list[Transaction], time: int = TIME, prev: bytes = b"\x11" * 32) -> bytes:
    root = merkle_root([tx.hash() for tx in txs])
    header = mine_header(  # regtest difficulty: the header's proof of work is valid
        (4).to_bytes(4, "little") + prev + root + time.to_bytes(4, "little") + REGTEST_BITS
    )
    n = len(txs)
    assert n < 0xFD
    return header + bytes([n]) + b"".join(tx.serialize() for tx in txs)


def fixture_block() -> tuple[bytes, dict[str, Transaction]]:
    """A block with every output type and every input-resolution path."""
    cb = coinbase_tx(
        HEIGHT,
        [
            TransactionOutput(5_000_000_000, es.p2pkh(PUB1)),
            TransactionOutput(0, Script(b"\x6a\x04abcd")),  # OP_RETURN
        ],
    )
    tx1 = Transaction(  # spends the coinbase (resolved from the spent output)
        1,
        [spend(cb, 0, p2pkh_sig(K1))],
        [
            TransactionOutput(1_000_000_000, es.p2wpkh(PUB2)),
            TransactionOutput(900_000_000, es.p2sh(MULTISIG)),
            TransactionOutput(800_000_000, es.p2tr(PUB3)),
            TransactionOutput(700_000_000, MULTISIG),  # bare multisig: no address
            TransactionOutput(600_000_000, Script(b"\x21" + PUB4.sec() + b"\xac")),  # P2PK
            TransactionOutput(999_990_000, es.p2wsh(MULTISIG)),
        ],
        0,
    )
    tx2 = Transaction(  # P2WPKH spend of tx1:0, resolved from the spent output
        2,
        [spend(tx1, 0, b"", [der_sig(K2), PUB2.sec()])],
        [TransactionOutput(999_990_000, es.p2pkh(PUB3))],
        0,
    )
    tx3 = Transaction(  # spends outputs that are not in the data
        1,
        [
            spend(UNKNOWN_TXID, 0, p2pkh_sig(K3)),  # address from the scriptSig
            spend(UNKNOWN_TXID, 1, push(der_sig(K4))),  # P2PK spend: unresolvable
            spend(UNKNOWN_TXID, 2, b"", [der_sig(K4), PUB4.sec()]),  # from the witness
            spend(UNKNOWN_TXID, 3, b"\x00" + push(der_sig(K3)) + push(MULTISIG.data)),
        ],
        [TransactionOutput(12_345, es.p2pkh(PUB1))],
        0,
    )
    return block_bytes([cb, tx1, tx2, tx3]), {"cb": cb, "tx1": tx1, "tx2": tx2, "tx3": tx3}


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


def blk(*blocks: bytes) -> bytes:
    return b"".join(REGTEST_MAGIC + len(b).to_bytes(4, "little") + b for b in blocks)


# -- scripts and addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "script_hex, kind, address",
    [
        # BIP173 / BIP350 / BIP86 test vectors
        (
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "p2wpkh",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            "p2wsh",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        ),
        (
            "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
            "p2tr",
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
        ),
        # the genesis block's P2PK output, as Bitcoin Core < v22 reported it
        (
            "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f3"
            "5504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac",
            "p2pk",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ),
        (
            "76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac",
            "p2pkh",
            "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ",
        ),
        ("6a0461626364", "op_return", None),
        (
            "51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179851ae",
            "multisig",
            None,
        ),
        ("5202abcd", "witness_unknown", None),
        ("ac", "nonstandard", None),
    ],
)
def test_output_script_type_and_address(script_hex, kind, address):
    assert classify_output(bytes.fromhex(script_hex)) == (kind, address)


def test_p2sh_and_p2pkh_addresses_agree_with_python_bitcoinlib():
    wallet = pytest.importorskip("bitcoin.wallet")
    from bitcoin.core.script import CScript

    for spk in (es.p2sh(MULTISIG), es.p2pkh(PUB1), es.p2wpkh(PUB2), es.p2wsh(MULTISIG)):
        expected = str(wallet.CBitcoinAddress.from_scriptPubKey(CScript(spk.data)))
        assert classify_output(spk.data)[1] == expected


def test_input_address_is_derived_only_where_the_script_proves_it():
    assert input_address(p2pkh_sig(K1), []) == (es.p2pkh(PUB1).address(), "scriptsig")
    assert input_address(b"", [der_sig(K2), PUB2.sec()]) == (es.p2wpkh(PUB2).address(), "witness")
    nested = es.p2wpkh(PUB2).data
    assert input_address(push(nested), [der_sig(K2), PUB2.sec()]) == (
        es.p2sh(Script(nested)).address(),
        "scriptsig",
    )
    multisig_spend = b"\x00" + push(der_sig(K3)) + push(MULTISIG.data)
    assert input_address(multisig_spend, []) == (es.p2sh(MULTISIG).address(), "scriptsig")
    assert input_address(push(der_sig(K1)), []) == (None, None)  # P2PK spend
    assert input_address(b"", [b"\x01" * 64]) == (None, None)  # Taproot key path
    assert input_address(b"\x76\xa9", []) == (None, None)  # not push-only


# -- raw blocks ---------------------------------------------------------------------------


def test_raw_block_tables(tmp_path):
    data, txs = fixture_block()
    t = load_bitcoin([write(tmp_path, "b.raw", data)])
    s = t.summary
    assert (s.blocks_read, s.blocks_loaded, s.txs_read, s.txs_loaded) == (1, 1, 4, 4)
    assert (s.inputs, s.inputs_from_prevout, s.inputs_from_script, s.inputs_unresolved) == (
        6,
        2,
        3,
        1,
    )
    tx = t.txs.set_index("txid")
    ids = {k: v.txid().hex() for k, v in txs.items()}
    assert tx.loc[ids["cb"], "coinbase"] and tx.loc[ids["cb"], "n_inputs"] == 0
    assert (tx["block_height"] == HEIGHT).all() and (tx["block_ts"] == TIME).all()
    assert (tx["first_seen_ts"] == TIME).all()
    assert tx.loc[ids["tx1"], "fee_sat"] == 10_000
    assert tx.loc[ids["tx2"], "fee_sat"] == 10_000
    assert pd_isna(tx.loc[ids["tx3"], "fee_sat"])  # input values unknown
    assert pd_isna(tx.loc[ids["cb"], "fee_sat"])
    out = t.outputs[t.outputs["txid"] == ids["tx1"]].set_index("vout")
    assert list(out["script_type"]) == ["p2wpkh", "p2sh", "p2tr", "multisig", "p2pk", "p2wsh"]
    assert out.loc[0, "address"] == es.p2wpkh(PUB2).address()
    assert out.loc[2, "address"] == es.p2tr(PUB3).address()
    assert out.loc[4, "address"] == es.p2pkh(PUB4).address()  # P2PK shown as its P2PKH
    assert pd_isna(out.loc[3, "address"])
    inp = t.inputs.set_index(["txid", "vin"])
    row = inp.loc[(ids["tx1"], 0)]
    assert (row["address"], row["sat"], row["address_source"]) == (
        es.p2pkh(PUB1).address(),
        5_000_000_000,
        "prevout",
    )
    assert inp.loc[(ids["tx2"], 0), "address"] == es.p2wpkh(PUB2).address()
    assert inp.loc[(ids["tx2"], 0), "sat"] == 1_000_000_000
    sources = list(inp.loc[ids["tx3"], "address_source"].fillna("none"))
    assert sources == ["scriptsig", "none", "witness", "scriptsig"]
    assert inp.loc[(ids["tx3"], 0), "prev_txid"] == UNKNOWN_TXID.hex()
    assert list(inp.loc[ids["tx3"], "prev_vout"]) == [0, 1, 2, 3]


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_blk_file_with_two_blocks_and_zero_padding(tmp_path):
    b1, txs = fixture_block()
    b2 = block_bytes([coinbase_tx(HEIGHT + 1, [TransactionOutput(1, es.p2pkh(PUB2))])], TIME + 600)
    path = write(tmp_path, "blk00000.dat", blk(b1, b2) + b"\x00" * 64)
    assert detect_format(path) == "blk"
    t = load_bitcoin([path])
    assert (t.summary.blocks_read, t.summary.blocks_loaded, t.summary.txs_loaded) == (2, 2, 5)
    assert sorted(t.txs["block_height"].unique()) == [HEIGHT, HEIGHT + 1]


def test_hex_text_raw_file(tmp_path):
    b1, _ = fixture_block()
    path = write(tmp_path, "block.hex", b1.hex() + "\n")
    assert detect_format(path) == "raw"
    assert load_bitcoin([path]).summary.txs_loaded == 4


def quarantined(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_truncated_block_is_quarantined_and_the_load_goes_on(tmp_path):
    b1, _ = fixture_block()
    b2 = block_bytes([coinbase_tx(HEIGHT + 1, [TransactionOutput(1, es.p2pkh(PUB2))])])
    good = write(tmp_path, "good.raw", b2)
    cut = write(tmp_path, "cut.raw", b1[:-40])
    qpath = tmp_path / "q.jsonl"
    t = load_bitcoin([cut, good], quarantine=qpath)
    s = t.summary
    assert (s.blocks_read, s.blocks_loaded, s.blocks_quarantined, s.txs_loaded) == (2, 1, 1, 1)
    [line] = quarantined(qpath)
    assert line["source"] == str(cut) and "truncated" in line["reason"]


def test_truncated_last_block_of_blk_file(tmp_path):
    b1, _ = fixture_block()
    b2 = block_bytes([coinbase_tx(HEIGHT + 1, [TransactionOutput(1, es.p2pkh(PUB2))])])
    path = write(tmp_path, "blk00001.dat", blk(b2, b1)[:-100])
    qpath = tmp_path / "q.jsonl"
    t = load_bitcoin([path], quarantine=qpath)
    assert (t.summary.blocks_read, t.summary.blocks_loaded, t.summary.blocks_quarantined) == (
        2,
        1,
        1,
    )
    [line] = quarantined(qpath)
    assert "truncated" in line["reason"] and line["line"] == f"offset {8 + len(b2)}"


def test_corrupt_byte_fails_the_merkle_check_strictly_or_is_quarantined(tmp_path):
    b1, txs = fixture_block()
    out_script = es.p2tr(PUB3).data
    i = b1.index(out_script)
    bad = b1[:i] + bytes([out_script[0] ^ 1]) + b1[i + 1 :]  # still parses
    path = write(tmp_path, "bad.raw", bad)
    with pytest.raises(BitcoinFormatError) as exc:
        load_bitcoin([path], strict=True)
    assert str(path) in str(exc.value) and "merkle root" in str(exc.value)
    t = load_bitcoin([path])
    assert t.summary.blocks_quarantined == 1 and t.txs.empty
    loose = load_bitcoin([path], verify_merkle=False)
    assert loose.summary.txs_loaded == 4  # the caller chose to skip the check


def test_trailing_bytes_and_bad_magic(tmp_path):
    b1, _ = fixture_block()
    b2 = block_bytes([coinbase_tx(HEIGHT + 1, [TransactionOutput(1, es.p2pkh(PUB2))])])
    q = Quarantine()
    t = load_bitcoin([write(tmp_path, "extra.raw", b1 + b"\x00\x01")], quarantine=q)
    assert t.summary.blocks_quarantined == 1 and "left over" in next(iter(q.reasons))
    # garbage between two framed blocks: skipped to the next magic, both blocks loaded
    framed = blk(b1) + b"\xde\xad\xbe\xef\x10\x00\x00\x00" + b"junk" * 4 + blk(b2)
    q = Quarantine()
    t = load_bitcoin([write(tmp_path, "blk00002.dat", framed)], quarantine=q)
    s = t.summary
    assert (s.blocks_read, s.blocks_loaded, s.blocks_quarantined, s.txs_loaded) == (3, 2, 1, 5)
    assert any("bad magic" in r for r in q.reasons)


# -- RPC JSON -------------------------------------------------------------------------------

P2PKH_HEX = "76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac"
P2PKH_ADDR = "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"
TXID = [f"{i:064x}" for i in range(1, 10)]


def rpc_block(height: int, txs: list, time: int = 1_400_000_000) -> dict:
    return {"hash": f"{height:064x}", "height": height, "time": time, "tx": txs}


def rpc_cb(txid: str, value: str, spk: dict) -> str:
    return (
        f'{{"txid":"{txid}","vin":[{{"coinbase":"03a08601","sequence":4294967295}}],'
        f'"vout":[{{"value":{value},"n":0,"scriptPubKey":{json.dumps(spk)}}}]}}'
    )


def test_rpc_both_shapes_exact_amounts_and_resolution(tmp_path):
    old = {"hex": P2PKH_HEX, "type": "pubkeyhash", "reqSigs": 1, "addresses": [P2PKH_ADDR]}
    new = {
        "hex": "0014751e76e8199196d454941c45d1b3a323f1433bd6",
        "type": "witness_v0_keyhash",
        "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    }
    spend = {
        "txid": TXID[2],
        "vin": [
            {"txid": TXID[0], "vout": 0, "scriptSig": {"hex": ""}, "sequence": 1},
            {"txid": TXID[1], "vout": 0, "scriptSig": {"hex": ""}, "txinwitness": ["00", "01"]},
        ],
        "vout": [{"value": "__V__", "n": 0, "scriptPubKey": {"type": "nulldata", "hex": "6a"}}],
    }
    # amounts are JSON numbers with 8 decimals; 0.1 + 0.2 must be exactly 30,000,000 sat
    spend_json = json.dumps(spend).replace('"__V__"', "0.29999999")
    text = (
        '{"hash":"'
        + "0" * 64
        + '","height":7,"time":1400000000,"tx":['
        + rpc_cb(TXID[0], "0.10000000", old)
        + ","
        + rpc_cb(TXID[1], "0.2", new)
        + ","
        + spend_json
        + "]}"
    )
    t = load_bitcoin([write(tmp_path, "b.json", text)])
    out = t.outputs.set_index("txid")
    assert out.loc[TXID[0], "sat"] == 10_000_000 and out.loc[TXID[0], "address"] == P2PKH_ADDR
    assert out.loc[TXID[1], "sat"] == 20_000_000
    assert out.loc[TXID[1], "address"] == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert out.loc[TXID[2], "script_type"] == "op_return"
    tx = t.txs.set_index("txid")
    assert tx.loc[TXID[2], "fee_sat"] == 1  # 30,000,000 - 29,999,999: exact, no float error
    assert set(t.inputs["address_source"]) == {"prevout"}
    assert t.summary.multi_input_txs == 1


def test_rpc_jsonl_array_envelope_and_getrawtransaction_duplicates(tmp_path):
    spk = {"type": "pubkeyhash", "address": P2PKH_ADDR}
    tx = json.loads(rpc_cb(TXID[0], "1", spk))
    block = rpc_block(1, [tx])
    raw = {**tx, "blocktime": 1_400_000_000, "confirmations": 3}
    jsonl = write(tmp_path, "b.jsonl", json.dumps(block) + "\n\n" + json.dumps(raw) + "\n")
    arr = write(tmp_path, "a.json", json.dumps([{"result": block, "error": None, "id": 1}]))
    t = load_bitcoin([jsonl, arr])
    s = t.summary
    assert (s.blocks_read, s.txs_read, s.txs_loaded, s.txs_duplicate) == (2, 3, 1, 2)
    assert t.txs["block_height"].tolist() == [1]  # the copy that knows its block is kept


def test_rpc_bad_records_are_quarantined_with_reason_and_reconciled(tmp_path):
    spk = {"type": "pubkeyhash", "address": P2PKH_ADDR}
    good = json.loads(rpc_cb(TXID[0], "1", spk))
    nine_decimals = json.loads(rpc_cb(TXID[1], "1", spk))
    no_value = json.loads(rpc_cb(TXID[2], "1", spk))
    del no_value["vout"][0]["value"]
    lines = [
        json.dumps(rpc_block(1, [good, TXID[3]])),  # a txid string: verbosity 1
        json.dumps(rpc_block(2, [nine_decimals])).replace('"value": 1', '"value": 0.000000001'),
        json.dumps(rpc_block(3, [no_value])),
        '{"tx": [], "height": 4}',  # no time
        "{not json",
        json.dumps({"result": None, "error": {"code": -5, "message": "Block not found"}, "id": 2}),
    ]
    path = write(tmp_path, "bad.jsonl", "\n".join(lines) + "\n")
    qpath = tmp_path / "q.jsonl"
    t = load_bitcoin([path], quarantine=qpath)
    s = t.summary
    assert (s.blocks_read, s.blocks_loaded, s.blocks_quarantined) == (4, 3, 1)
    assert (s.txs_read, s.txs_loaded, s.txs_quarantined, s.values_rejected) == (4, 1, 3, 2)
    reasons = [q["reason"] for q in quarantined(qpath)]
    assert any("verbosity 1" in r for r in reasons)
    assert any("not a whole number of satoshis" in r for r in reasons)
    assert any("vout[0].value" in r for r in reasons)
    assert any("time" in r for r in reasons)
    assert any("malformed JSON" in r for r in reasons)
    assert any("Block not found" in r for r in reasons)
    assert all(q["source"] == str(path) for q in quarantined(qpath))
    with pytest.raises(BitcoinFormatError, match="line 1 block 1 tx 1"):
        load_bitcoin([path], strict=True)


def test_rpc_getblock_verbosity_3_prevout(tmp_path):
    tx = {
        "txid": TXID[4],
        "vin": [
            {
                "txid": TXID[5],
                "vout": 3,
                "scriptSig": {"hex": ""},
                "prevout": {
                    "value": 0.5,
                    "scriptPubKey": {"type": "pubkeyhash", "address": P2PKH_ADDR},
                },
            }
        ],
        "vout": [{"value": 0.4999, "n": 0, "scriptPubKey": {"hex": P2PKH_HEX}}],
    }
    text = json.dumps(rpc_block(9, [tx])).replace("0.5,", "0.50000000,")
    t = load_bitcoin([write(tmp_path, "v3.json", text)])
    assert t.inputs.loc[0, "sat"] == 50_000_000 and t.inputs.loc[0, "address"] == P2PKH_ADDR
    assert t.txs.loc[0, "fee_sat"] == 10_000
    assert t.outputs.loc[0, "address"] == P2PKH_ADDR  # derived from hex when no address


def test_mempool_first_seen_is_the_earliest_of_logs_and_block(tmp_path):
    spk = {"type": "pubkeyhash", "address": P2PKH_ADDR}
    txs = [json.loads(rpc_cb(TXID[i], "1", spk)) for i in range(3)]
    chain = write(tmp_path, "c.json", json.dumps(rpc_block(1, txs, time=1_400_000_600)))
    csv = write(
        tmp_path,
        "m.csv",
        f"txid,first_seen\n{TXID[0]},1400000100\n{TXID[1]},1400000900\nnot-a-txid,1\n"
        f"{TXID[0]},1400000050\n",
    )
    snap = write(
        tmp_path,
        "snap.json",
        json.dumps(
            {
                "result": {
                    TXID[0]: {"time": 1400000070},
                    TXID[2]: {"time": 1400000300},
                    TXID[3]: {"fee": 1},
                },
                "error": None,
                "id": 1,
            }
        ),
    )
    q = Quarantine()
    t = load_bitcoin([chain], mempool=[csv, snap], quarantine=q)
    seen = t.txs.set_index("txid")["first_seen_ts"]
    assert seen[TXID[0]] == 1400000050  # earliest of two CSV rows and a snapshot
    assert seen[TXID[1]] == 1400000600  # the log is later than the block: block time
    assert seen[TXID[2]] == 1400000300
    assert (t.summary.mempool_rows, t.summary.mempool_quarantined) == (7, 2)
    assert t.summary.first_seen_from_mempool == 2 and q.count == 2


# -- real data --------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_rpc_responses(shared_data):
    files = sorted((shared_data / "bitcoin" / "rpc-getblock-v2").glob("*.json"))
    t = load_bitcoin(files, strict=True)
    s = t.summary
    assert (s.blocks_read, s.txs_loaded, s.txs_duplicate, s.inputs_from_prevout) == (5, 10, 0, 3)
    out = t.outputs.set_index("txid")
    genesis = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    assert out.loc[genesis, "sat"] == 5_000_000_000
    assert out.loc[genesis, "address"] == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    tx = t.txs.set_index("txid")
    two_inputs = "7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a"
    assert tx.loc[two_inputs, "n_inputs"] == 2 and tx.loc[two_inputs, "fee_sat"] == 0
    assert tx.loc[two_inputs, "block_height"] == 50001
    # inputs resolved through the getrawtransaction files (pre-v22 P2PK "addresses")
    addrs = set(t.inputs.loc[t.inputs["txid"] == two_inputs, "address"])
    assert addrs == {"1DoQeKfU3dYhN9bxMpFFcVUnufCPDqSPae", "1PZMgkF2x161qvfP7dhoWSEEU3SjnQE1m9"}


@pytest.mark.realdata
def test_real_block_413567(shared_data):
    path = shared_data / "bitcoin" / "block413567.raw"
    t = load_bitcoin([path], verify_merkle=False, strict=True)
    s = t.summary
    assert (s.txs_loaded, s.multi_input_txs, s.inputs, s.outputs) == (1557, 505, 4886, 3581)
    assert (t.txs["block_height"] == 413567).all()
    assert s.inputs_unresolved == 0
    # cross-check: the merkle verdict equals python-bitcoinlib's CheckBlock verdict
    core = pytest.importorskip("bitcoin.core")
    block = core.CBlock.deserialize(path.read_bytes())
    try:
        core.CheckBlock(block, fCheckPoW=True, fCheckMerkleRoot=True)
        valid = True
    except core.CheckBlockError:
        valid = False
    checked = load_bitcoin([path])
    assert checked.summary.blocks_quarantined == (0 if valid else 1)


@pytest.mark.realdata
def test_merkle_root_reproduces_real_node_responses(shared_data):
    """The algorithm and byte order against Bitcoin Core's own ``merkleroot`` fields."""
    files = sorted((shared_data / "bitcoin" / "rpc-getblock-v2").glob("*getblock*.json"))
    sizes = []
    for f in files:
        r = json.loads(f.read_text())
        r = r.get("result", r)
        ids = [bytes.fromhex(t["txid"] if isinstance(t, dict) else t)[::-1] for t in r["tx"]]
        assert merkle_root(ids)[::-1].hex() == r["merkleroot"], f.name
        sizes.append(len(ids))
    assert 3 in sizes  # an odd level: the last hash is paired with itself


@pytest.mark.realdata
def test_shared_block_413567_is_not_the_mined_block(shared_data):
    """Its header is genuine (valid proof of work) but its transactions hash to another
    merkle root: the file was altered (benchmarks/check_block_merkle.py pinpoints the
    transaction by its one invalid signature). Loading it checked quarantines it."""
    from ownergraph.loaders.bitcoin_raw import dsha256, parse_block

    data = (shared_data / "bitcoin" / "block413567.raw").read_bytes()
    header = data[:80]
    bits = int.from_bytes(header[72:76], "little")
    target = (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))
    assert int.from_bytes(dsha256(header), "little") <= target
    _, _, _, txs = parse_block(data, verify_merkle=False)
    assert not any(tx.is_segwit for tx in txs)  # txid == wtxid: no witness tree involved
    assert merkle_root([tx.hash() for tx in txs]) != header[36:68]


@pytest.mark.realdata
def test_real_block_script_addresses_equal_spent_output_addresses(shared_data):
    from ownergraph.loaders.bitcoin import iter_batches, resolve_inputs

    [batch] = list(iter_batches([shared_data / "bitcoin" / "block413567.raw"], verify_merkle=False))
    _, inputs, outputs = batch.frames()
    resolved = resolve_inputs(inputs, outputs)
    inside = (resolved["address_source"] == "prevout").to_numpy()
    assert inside.sum() == 287
    assert (inputs["address"][inside] == resolved["address"][inside]).all()


def test_rpc_jsonl_with_bad_first_line_and_bytes_that_are_not_utf8(tmp_path):
    spk = {"type": "pubkeyhash", "address": P2PKH_ADDR}
    good = json.dumps(rpc_block(1, [json.loads(rpc_cb(TXID[0], "1", spk))])).encode()
    path = tmp_path / "b.jsonl"
    path.write_bytes(b'{"height": 2, "hash": "\xff", "tx": []}\n' + good + b"\n{oops\n")
    qpath = tmp_path / "q.jsonl"
    t = load_bitcoin([path], quarantine=qpath)
    assert t.summary.txs_loaded == 1 and t.summary.values_rejected == 2
    reasons = [q["reason"] for q in quarantined(qpath)]
    assert "not UTF-8" in reasons[0] and [q["line"] for q in quarantined(qpath)] == [
        "line 1",
        "line 3",
    ]
    log = tmp_path / "m.csv"
    log.write_bytes(b"txid,first_seen\n" + TXID[0].encode()[:-1] + b"\xff,1400000000\n")
    t = load_bitcoin([path], mempool=[log], quarantine=qpath)
    assert t.summary.mempool_quarantined == 1
    with pytest.raises(BitcoinFormatError, match="not UTF-8"):
        load_bitcoin([path], strict=True)
