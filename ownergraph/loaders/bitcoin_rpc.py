"""Bitcoin Core JSON-RPC output: ``getblock <hash> 2`` (or 3) and ``getrawtransaction <txid> true``.

A file holds one JSON value (pretty-printed or not), a JSON array of them, or one per
line (JSON Lines). Each value is a result or the RPC envelope ``{"result", "error",
"id"}``. Both output shapes are read: pre-v22 (``scriptPubKey.addresses`` list,
``reqSigs``) and current (``scriptPubKey.address``); a multi-address (bare multisig)
output has no single address. Amounts are parsed as exact decimals
(``parse_float=Decimal``) and converted to integral satoshis; a value with more than 8
decimals is an error, never rounded. ``getblock 3`` inputs carry ``prevout`` (spent
address and value) and are resolved from it.

A block's header is rebuilt from its JSON fields (``version``, ``previousblockhash``,
``merkleroot``, ``time``, ``bits``, ``nonce``) and checked like a raw one
(``bitcoin_raw.check_header``: proof of work against ``bits`` within the network's limit,
version, time sanity); it must also hash to the block's ``hash``, so an edited field
(a flipped time, say) is caught. The merkle root is recomputed from the transactions'
txids (unless ``verify_merkle=False``). A block that fails is quarantined whole; a block
whose JSON lacks header fields is loaded with its header counted as skipped, the reason
named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ownergraph.loaders.bitcoin_batch import (
    SAT_PER_BTC,
    Batch,
    BitcoinFormatError,
    InputRow,
    OutputRow,
    check_sat,
    check_txid,
    reject,
)
from ownergraph.loaders.bitcoin_raw import NO_VERIFY_MERKLE, check_header, dsha256, merkle_root
from ownergraph.loaders.bitcoin_script import RPC_TYPES, classify_output, input_address
from ownergraph.loaders.quarantine import Quarantine


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-numeric JSON constant {name}")


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def _text(data: bytes) -> str:
    """UTF-8 (a BOM allowed); raises ValueError naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


def _any_jsonl_object(fh: Any) -> bool:
    """Whether some line of the (binary) file is a whole JSON object on its own."""
    fh.seek(0)
    for raw in fh:
        if raw.strip().startswith(b"{"):
            try:
                if isinstance(_loads(_text(raw)), dict):
                    return True
            except ValueError:
                continue
    return False


def iter_json_values(path: Path) -> Iterator[tuple[str, Any, Exception | None]]:
    """``(where, value, error)`` for each JSON value in a file (object, array or JSONL)."""
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        fh.seek(0)
        whole = head.startswith(b"[")
        if not whole:
            first = fh.readline()
            while first and not first.strip():
                first = fh.readline()
            try:
                _loads(_text(first))
            except ValueError:
                whole = True  # a pretty-printed object (or junk): parse the file as one
            fh.seek(0)
        if whole:
            try:
                value = _loads(_text(fh.read()))
            except ValueError as exc:
                if head.startswith(b"[") or not _any_jsonl_object(fh):
                    yield "file", None, exc
                    return
                value = None  # JSON Lines whose first line is bad: read line by line
            fh.seek(0)
        if whole and value is not None:
            if isinstance(value, list) and head.startswith(b"["):
                for i, v in enumerate(value):
                    yield f"item {i}", v, None
            else:
                yield "file", value, None
            return
        for lineno, raw in enumerate(fh, start=1):  # JSON Lines
            if not raw.strip():
                continue
            try:
                yield f"line {lineno}", _loads(_text(raw)), None
            except ValueError as exc:
                yield f"line {lineno}", raw.decode("utf-8", "backslashreplace"), exc


def btc_to_sat(value: Any, what: str) -> int:
    """Exact satoshis of a BTC amount given as Decimal/int/str; never rounds."""
    if isinstance(value, bool) or isinstance(value, float) or value is None:
        raise ValueError(f"{what} is {value!r}, not an exact decimal BTC amount")
    try:
        sat = Decimal(value) * SAT_PER_BTC
    except (InvalidOperation, TypeError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not sat.is_finite() or sat != sat.to_integral_value():
        raise ValueError(f"{what} {value} BTC is not a whole number of satoshis")
    return check_sat(int(sat), what)


def _int(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} is {value!r}, not an integer >= {minimum}")
    return value


def _output(o: Any, j: int) -> OutputRow:
    if not isinstance(o, dict):
        raise ValueError(f"vout[{j}] is not an object")
    n = _int(o.get("n"), f"vout[{j}].n")
    sat = btc_to_sat(o.get("value"), f"vout[{j}].value")
    spk = o.get("scriptPubKey")
    if not isinstance(spk, dict):
        raise ValueError(f"vout[{j}].scriptPubKey is missing")
    rpc_type = spk.get("type")
    kind = RPC_TYPES.get(rpc_type, rpc_type) if rpc_type else None
    address = spk.get("address")
    if address is None and isinstance(spk.get("addresses"), list):
        addrs = spk["addresses"]
        address = addrs[0] if len(addrs) == 1 else None
    if (address is None or kind is None) and spk.get("hex") is not None:
        try:
            derived_kind, derived = classify_output(bytes.fromhex(spk["hex"]))
        except ValueError:
            raise ValueError(f"vout[{j}].scriptPubKey.hex is not hex") from None
        kind = kind or derived_kind
        address = address if address is not None else derived
    if kind is None:
        raise ValueError(f"vout[{j}].scriptPubKey has neither type nor hex")
    if address is not None and not isinstance(address, str):
        raise ValueError(f"vout[{j}].scriptPubKey.address is not a string")
    return n, address, sat, kind


def _input(v: Any, i: int) -> InputRow:
    if not isinstance(v, dict):
        raise ValueError(f"vin[{i}] is not an object")
    prev = check_txid(v.get("txid"), f"vin[{i}].txid")
    prev_vout = _int(v.get("vout"), f"vin[{i}].vout")
    prevout = v.get("prevout")
    if isinstance(prevout, dict):  # getblock verbosity 3
        _, address, sat, _ = _output({**prevout, "n": prev_vout}, i)
        return i, prev, prev_vout, address, sat, "prevout"
    sig = v.get("scriptSig") or {}
    try:
        script_sig = bytes.fromhex(sig.get("hex", "")) if isinstance(sig, dict) else b""
        witness = [bytes.fromhex(w) for w in v.get("txinwitness") or []]
    except (TypeError, ValueError):
        raise ValueError(f"vin[{i}] scriptSig/txinwitness is not hex") from None
    address, source = input_address(script_sig, witness)
    return i, prev, prev_vout, address, None, source


def add_rpc_tx(batch: Batch, tx: Any, block_height: int | None, block_ts: int | None) -> None:
    """Parse one decoded transaction (a getblock ``tx`` item or a getrawtransaction result)."""
    if not isinstance(tx, dict):
        raise ValueError("transaction is not an object (getblock verbosity 1? use 2)")
    txid = check_txid(tx.get("txid"))
    vin, vout = tx.get("vin"), tx.get("vout")
    if not isinstance(vin, list) or not isinstance(vout, list) or not vin:
        raise ValueError("vin/vout missing or empty")
    coinbase = any(isinstance(v, dict) and "coinbase" in v for v in vin)
    if coinbase and len(vin) != 1:
        raise ValueError("coinbase transaction with more than one input")
    inputs = [] if coinbase else [_input(v, i) for i, v in enumerate(vin)]
    outputs = [_output(o, j) for j, o in enumerate(vout)]
    ns = [o[0] for o in outputs]
    if len(set(ns)) != len(ns):
        raise ValueError("duplicate vout n")
    batch.add_tx(txid, block_height, block_ts, coinbase, inputs, outputs)


def _unwrap(value: Any) -> Any:
    """The result inside an RPC envelope; raises on an RPC error."""
    if isinstance(value, dict) and "result" in value and ("error" in value or "id" in value):
        if value.get("error"):
            raise ValueError(f"RPC error: {value['error']}")
        if value["result"] is None:
            raise ValueError("RPC envelope with a null result")
        return value["result"]
    return value


HEADER_FIELDS = ("version", "merkleroot", "time", "bits", "nonce")


def json_header(block: dict) -> bytes:
    """The 80-byte header a ``getblock`` JSON block describes; ValueError naming the
    missing or malformed field."""
    missing = [f for f in HEADER_FIELDS if block.get(f) is None]
    prev = block.get("previousblockhash")
    if prev is None and block.get("height") != 0:
        missing.append("previousblockhash")
    if missing:
        raise KeyError(", ".join(missing))
    version = block["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"version is {version!r}, not an integer")
    prev_hash = bytes(32) if prev is None else bytes.fromhex(check_txid(prev, "previousblockhash"))
    root = bytes.fromhex(check_txid(block["merkleroot"], "merkleroot"))
    bits, ts, nonce = block["bits"], _int(block["time"], "time"), _int(block["nonce"], "nonce")
    try:
        bits_int = int(bits, 16) if isinstance(bits, str) else _int(bits, "bits")
    except ValueError:
        raise ValueError(f"bits {bits!r} is not hex") from None
    fits = 0 <= bits_int < 2**32 and nonce < 2**32 and ts < 2**32
    if not fits or not -(2**31) <= version < 2**31:
        raise ValueError("a header field is out of its 32-bit range")
    return (
        (version & 0xFFFFFFFF).to_bytes(4, "little")
        + prev_hash[::-1]
        + root[::-1]
        + ts.to_bytes(4, "little")
        + bits_int.to_bytes(4, "little")
        + nonce.to_bytes(4, "little")
    )


def check_json_block(batch: Batch, block: dict, verify_merkle: bool, network: str | None) -> None:
    """Check a JSON block's header and merkle root (see the module docstring); ValueError
    on a failure, else counts what was checked and what was skipped (with the reason)."""
    try:
        header = json_header(block)
    except KeyError as exc:
        reason = f"JSON block without {exc.args[0]} (header not rebuilt)"
        batch.skip("header", reason)
        batch.skip("merkle", reason)
        return
    digest = dsha256(header)[::-1].hex()
    given = block.get("hash")
    if isinstance(given, str) and given.lower() != digest:
        raise ValueError(
            f"header fields hash to {digest}, not to the block's hash {given} "
            "(corrupt or edited header field)"
        )
    check_header(header, network)
    batch.headers_checked += 1
    if not verify_merkle:
        batch.skip("merkle", NO_VERIFY_MERKLE)
        return
    txs = block["tx"]
    ids = [t.get("txid") if isinstance(t, dict) else None for t in txs]
    try:
        hashes = [bytes.fromhex(check_txid(t))[::-1] for t in ids]
    except ValueError:
        batch.skip("merkle", "a transaction without a valid txid")
        return
    if not hashes or merkle_root(hashes) != header[36:68]:
        raise ValueError("merkle root does not match the transactions' txids (corrupt block)")
    batch.merkle_checked += 1


def add_rpc_value(
    batch: Batch,
    value: Any,
    source: str,
    where: str,
    q: Quarantine,
    verify_merkle: bool = True,
    network: str | None = None,
) -> None:
    """Add one JSON value (block or transaction, possibly enveloped) to ``batch``.

    ``network``: whose proof-of-work limit block headers meet (default: the loosest,
    regtest's)."""
    try:
        value = _unwrap(value)
        if isinstance(value, str):
            raise ValueError("hex result (verbosity 0): load it with --format raw")
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        if "tx" not in value and isinstance(value.get("rawtx"), list):
            value = {**value, "tx": value["rawtx"]}  # btcd's getblock <hash> 2 shape
        if "tx" not in value and "vin" not in value:
            raise ValueError("neither a block (tx) nor a transaction (vin/vout)")
    except ValueError as exc:
        batch.values_rejected += 1
        reject(q, BitcoinFormatError(source, where, str(exc)), value)
        return
    if "tx" in value:
        _add_block(batch, value, source, where, q, verify_merkle, network)
        return
    batch.txs_read += 1
    try:
        ts = value.get("blocktime")
        ts = _int(ts, "blocktime") if ts is not None else None
        add_rpc_tx(batch, value, None, ts)
    except ValueError as exc:
        batch.txs_quarantined += 1
        txid = value.get("txid") if isinstance(value.get("txid"), str) else "?"
        reject(q, BitcoinFormatError(source, f"{where} tx {txid}", str(exc)), value)


def _add_block(
    batch: Batch,
    block: dict,
    source: str,
    where: str,
    q: Quarantine,
    verify_merkle: bool = True,
    network: str | None = None,
) -> None:
    batch.blocks_read += 1
    txs = block.get("tx")
    n = len(txs) if isinstance(txs, list) else 0
    batch.txs_read += n
    try:
        if not isinstance(txs, list):
            raise ValueError("tx is not a list")
        height = block.get("height")
        height = _int(height, "height") if height is not None else None
        ts = _int(block.get("time"), "time")
        check_json_block(batch, block, verify_merkle, network)
    except ValueError as exc:
        batch.blocks_quarantined += 1
        batch.txs_quarantined += n
        reject(q, BitcoinFormatError(source, f"{where} block", str(exc)), block)
        return
    label = f"{where} block {height if height is not None else block.get('hash', '?')}"
    for i, tx in enumerate(txs):
        try:
            add_rpc_tx(batch, tx, height, ts)
        except ValueError as exc:
            batch.txs_quarantined += 1
            txid = tx.get("txid") if isinstance(tx, dict) else None
            reject(
                q, BitcoinFormatError(source, f"{label} tx {i} {txid or ''}".strip(), str(exc)), tx
            )


def iter_rpc_batches(
    path: Path,
    q: Quarantine,
    batch_txs: int,
    verify_merkle: bool = True,
    network: str | None = None,
) -> Iterator[Batch]:
    """Batches of about ``batch_txs`` transactions from one RPC JSON file."""
    batch = Batch()
    source = str(path)
    for where, value, error in iter_json_values(path):
        if error is not None:
            batch.values_rejected += 1
            reject(q, BitcoinFormatError(source, where, f"malformed JSON: {error}"), value)
            continue
        add_rpc_value(batch, value, source, where, q, verify_merkle, network)
        if batch.n_txs >= batch_txs:
            yield batch
            batch = Batch()
    yield batch
