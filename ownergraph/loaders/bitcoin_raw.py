"""Raw serialized Bitcoin blocks, parsed with embit.

Two containers:

- ``raw``: one serialized block per file (binary), or hex text with one block per line
  (``getblock <hash> 0`` output);
- ``blk``: Bitcoin Core's ``blk*.dat``: records of ``magic (4) | size (4, LE) | block``
  (mainnet magic ``f9beb4d9``); zero padding at the end of a file ends it.

Every block is checked: its header (``check_header``: proof of work, i.e. the header's
hash at or below the target its ``bits`` encode, that target within the network's limit,
version >= 1, time after the genesis block and at most 2 h past the clock), reads past the
end (truncation), bytes left over after the last transaction, and (unless
``verify_merkle=False``) the header's merkle root against the parsed transactions, which
catches corrupt bytes that still parse. Any bit flipped in a header changes its hash, so
the proof-of-work check catches header corruption (time, version, bits, previous hash).
The network's proof-of-work limit comes from the ``blk`` magic; a ``raw`` file may be of
any network, so its limit is regtest's (the loosest) unless ``network`` names one.
Offsets in reasons count from the start of the file (binary) or of the block (hex lines).
A bad block is quarantined whole (its transactions are not loaded) and the next one is
read; in a ``blk`` file the size prefix finds it, or the next magic if the prefix is bad.
Block height comes from the coinbase (BIP34, block version >= 2), else null.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import multiprocessing
import os
import string
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from embit.transaction import Transaction

from ownergraph.defaults import BTC_KNOWN_OUTPOINTS
from ownergraph.loaders.bitcoin_addresses import encode_keys
from ownergraph.loaders.bitcoin_batch import (
    Batch,
    BitcoinFormatError,
    InputRow,
    OutputRow,
    check_sat,
    reject,
)
from ownergraph.loaders.bitcoin_fastparse import Columns, read_transactions
from ownergraph.loaders.bitcoin_script import classify_output, input_address
from ownergraph.loaders.quarantine import Quarantine

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")
HEADER_SIZE = 80
GENESIS_TS = 1231006505  # mainnet genesis block time; no valid block is older
MAX_FUTURE_S = 2 * 3600  # consensus: a block time at most 2 h past the node's clock
POW_LIMITS = {
    "main": 0xFFFF << 208,
    "test": 0xFFFF << 208,
    "signet": 0x377AE << 216,
    "regtest": 0x7FFFFF << 232,
}
MAGIC_NETWORK = {
    MAINNET_MAGIC: "main",
    bytes.fromhex("0b110907"): "test",
    bytes.fromhex("0a03cf40"): "signet",
    bytes.fromhex("fabfb5da"): "regtest",
}
NULL_TXID = b"\x00" * 32
MAX_BLOCK_SIZE = 4_000_000  # consensus limit on serialized size (weight / 1)
_HEX = set(string.hexdigits.encode()) | set(b" \t\r\n")
NO_VERIFY_MERKLE = "--no-verify-merkle"


class _StrictStream(io.BytesIO):
    """A byte stream whose short reads raise instead of returning fewer bytes; offsets in
    its messages are ``base`` + the position in the stream."""

    def __init__(self, data: bytes, base: int = 0, unit: str = "file offset") -> None:
        super().__init__(data)
        self.base, self.unit = base, unit

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        if n is not None and n >= 0 and len(data) < n:
            at = self.base + self.tell() - len(data)
            raise EOFError(f"truncated: needed {n} bytes at {self.unit} {at}")
        return data


def mine_header(header76: bytes, start: int = 0) -> bytes:
    """The first 80-byte header (``header76`` + nonce from ``start``, wrapping past
    2^32 - 1) whose hash meets its bits (for test and regtest blocks; hopeless at
    mainnet difficulty)."""
    target = bits_target(int.from_bytes(header76[72:76], "little"))
    for i in range(2**32):
        header = header76 + ((start + i) & 0xFFFFFFFF).to_bytes(4, "little")
        if int.from_bytes(dsha256(header), "little") <= target:
            return header
    raise ValueError("no nonce meets the target")


def bits_target(bits: int) -> int:
    """The target a compact ``bits`` field encodes; ValueError if it is negative/overflows."""
    exponent, mantissa = bits >> 24, bits & 0x7FFFFF
    if bits & 0x00800000 and mantissa:
        raise ValueError(f"bits 0x{bits:08x} encode a negative target")
    target = mantissa >> (8 * (3 - exponent)) if exponent <= 3 else mantissa << 8 * (exponent - 3)
    if target == 0 or target.bit_length() > 256:
        raise ValueError(f"bits 0x{bits:08x} encode an impossible target")
    return target


def check_header(header: bytes, network: str | None = None, now: int | None = None) -> None:
    """Proof of work against ``bits`` (within the network's limit), version and time
    sanity; ValueError naming the field. ``network=None``: the loosest limit (regtest)."""
    limit = POW_LIMITS[network or "regtest"]
    version = int.from_bytes(header[0:4], "little", signed=True)
    block_ts = int.from_bytes(header[68:72], "little")
    bits = int.from_bytes(header[72:76], "little")
    target = bits_target(bits)
    if target > limit:
        raise ValueError(
            f"bits 0x{bits:08x} encode a target above the {network or 'regtest'} "
            "proof-of-work limit"
        )
    digest = dsha256(header)
    if int.from_bytes(digest, "little") > target:
        raise ValueError(
            f"proof of work fails: header hash {digest[::-1].hex()} is above the target of "
            f"bits 0x{bits:08x} (corrupt header)"
        )
    if version < 1:
        raise ValueError(f"block version {version} is not a valid version")
    now = int(time.time()) if now is None else now
    if block_ts < GENESIS_TS:
        raise ValueError(f"block time {block_ts} is before the genesis block ({GENESIS_TS})")
    if block_ts > now + MAX_FUTURE_S:
        raise ValueError(f"block time {block_ts} is more than 2 h past the clock ({now})")


def dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def merkle_root(hashes: list[bytes]) -> bytes:
    """The merkle root of transaction hashes (internal byte order)."""
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [dsha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def bip34_height(version: int, coinbase_script: bytes) -> int | None:
    """The height pushed first in the coinbase script (BIP34), for block version >= 2."""
    size = coinbase_script[0] if coinbase_script else 0
    if version < 2 or not 1 <= size <= 4 or len(coinbase_script) <= size:
        return None
    return int.from_bytes(coinbase_script[1 : 1 + size], "little")


def _read_header(
    data: bytes, verify_header: bool, network: str | None
) -> tuple[bytes, int, int, str]:
    """``(header, version, time, block_hash)`` of a serialized block, checked if asked."""
    if len(data) < HEADER_SIZE + 1:
        raise ValueError(f"truncated: {len(data)} bytes is shorter than a block header")
    header = data[:HEADER_SIZE]
    if verify_header:
        check_header(header, network)
    version = int.from_bytes(header[0:4], "little", signed=True)
    block_ts = int.from_bytes(header[68:72], "little")
    return header, version, block_ts, dsha256(header)[::-1].hex()


def parse_block(
    data: bytes,
    verify_merkle: bool = True,
    base: int = 0,
    unit: str = "file offset",
    verify_header: bool = True,
    network: str | None = None,
) -> tuple[str, int, int | None, list[Transaction]]:
    """``(block_hash, time, height, transactions)``; raises ValueError naming the problem.

    ``base``: where ``data`` starts in its file, so that reasons give file offsets.
    """
    header, version, block_ts, block_hash = _read_header(data, verify_header, network)
    stream = _StrictStream(data[HEADER_SIZE:], base + HEADER_SIZE, unit)
    txs: list[Transaction] = []
    try:
        n = _read_count(stream)
        if n == 0 or n * 60 > len(data):
            raise ValueError(f"implausible transaction count {n} for {len(data)} bytes")
        for _ in range(n):
            txs.append(Transaction.read_from(stream))
    except Exception as exc:  # embit raises several types on bad bytes
        at = base + HEADER_SIZE + stream.tell()
        raise ValueError(f"tx {len(txs)} (ends at {unit} {at}): {exc}") from None
    left = len(data) - HEADER_SIZE - stream.tell()
    if left:
        at = base + len(data) - left
        raise ValueError(
            f"{left} bytes left over after the last of {n} transactions (from {unit} {at})"
        )
    if verify_merkle and merkle_root([tx.hash() for tx in txs]) != header[36:68]:
        raise ValueError("merkle root does not match the transactions (corrupt block)")
    coinbase = txs[0].vin[0] if txs[0].vin else None
    height = bip34_height(version, coinbase.script_sig.data) if coinbase is not None else None
    return block_hash, block_ts, height, txs


def parse_block_fast(
    data: bytes,
    verify_merkle: bool = True,
    base: int = 0,
    unit: str = "file offset",
    verify_header: bool = True,
    network: str | None = None,
    known: set[bytes] | frozenset[bytes] = frozenset(),
) -> tuple[str, int, int | None, Columns]:
    """``parse_block`` with the bulk parser (``bitcoin_fastparse``): the same checks and
    messages, the transactions column-wise (``known``: see ``read_transactions``)."""
    header, version, block_ts, block_hash = _read_header(data, verify_header, network)
    try:
        n, pos = _fast_varint(data, HEADER_SIZE)
    except IndexError:
        raise ValueError(f"truncated: needed 1 byte at {unit} {base + HEADER_SIZE}") from None
    if n == 0 or n * 60 > len(data):
        raise ValueError(f"implausible transaction count {n} for {len(data)} bytes")
    txs, end, coinbase_script = read_transactions(data, pos, n, base, unit, known)
    left = len(data) - end
    if left:
        at = base + end
        raise ValueError(
            f"{left} bytes left over after the last of {n} transactions (from {unit} {at})"
        )
    if verify_merkle and merkle_root(txs.hashes) != header[36:68]:
        raise ValueError("merkle root does not match the transactions (corrupt block)")
    height = bip34_height(version, coinbase_script) if txs.coinbase[0] else None
    return block_hash, block_ts, height, txs


def _fast_varint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    size = 2 ** (first - 0xFC)
    if pos + 1 + size > len(data):
        raise IndexError
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "little"), pos + 1 + size


def _read_count(stream: _StrictStream) -> int:
    first = stream.read(1)[0]
    if first < 0xFD:
        return first
    return int.from_bytes(stream.read(2 ** (first - 0xFC)), "little")


def _rows(tx: Transaction) -> tuple[bool, list[InputRow], list[OutputRow]]:
    coinbase = len(tx.vin) == 1 and tx.vin[0].txid == NULL_TXID and tx.vin[0].vout == 0xFFFFFFFF
    inputs: list[InputRow] = []
    if not coinbase:
        for i, vin in enumerate(tx.vin):
            address, source = input_address(vin.script_sig.data, list(vin.witness.items))
            inputs.append((i, vin.txid.hex(), vin.vout, address, None, source))
    outputs: list[OutputRow] = []
    for j, vout in enumerate(tx.vout):
        kind, address = classify_output(vout.script_pubkey.data)
        outputs.append((j, address, check_sat(vout.value, f"vout[{j}].value"), kind))
    return coinbase, inputs, outputs


def add_raw_block(
    batch: Batch,
    data: bytes,
    source: str,
    where: str,
    q: Quarantine,
    verify_merkle: bool = True,
    base: int = 0,
    unit: str = "file offset",
    network: str | None = None,
    parser: str = "fast",
    known: set[bytes] | None = None,
) -> None:
    """Parse one serialized block into ``batch`` (or quarantine it whole).

    ``parser``: ``"fast"`` (bulk path; addresses as keys, encoded per batch) or
    ``"embit"`` (the reference). ``known``: outpoints of the blocks accepted so far (the
    fast parser skips deriving the addresses of inputs that spend them, and adds this
    block's outputs once it is accepted).
    """
    batch.blocks_read += 1
    try:
        if parser == "fast":
            block_hash, block_ts, height, cols = parse_block_fast(
                data, verify_merkle, base, unit, network=network, known=known or frozenset()
            )
        else:
            block_hash, block_ts, height, txs = parse_block(
                data, verify_merkle, base, unit, network=network
            )
            rows = [(tx.txid().hex(), *_rows(tx)) for tx in txs]
    except ValueError as exc:
        batch.blocks_quarantined += 1
        record = {"bytes": len(data), "head_hex": data[:HEADER_SIZE].hex()}
        reject(q, BitcoinFormatError(source, where, str(exc)), record)
        return
    batch.headers_checked += 1
    if verify_merkle:
        batch.merkle_checked += 1
    else:
        batch.skip("merkle", NO_VERIFY_MERKLE)
    if parser == "fast":
        if known is not None and len(known) < BTC_KNOWN_OUTPOINTS:
            known.update(cols.outpoints)  # bounded memory; past it inputs are hashed
        batch.txs_read += len(cols.txid)
        batch.add_columns(cols, height, block_ts)
        return
    batch.txs_read += len(rows)
    for txid, coinbase, inputs, outputs in rows:
        batch.add_tx(txid, height, block_ts, coinbase, inputs, outputs)


# where, block, error, record, offset of the block in the file (None: a hex line's block)
Payload = tuple[str, bytes | None, str | None, object, int | None]


def iter_raw_payloads(path: Path) -> Iterator[Payload]:
    """Blocks of a ``raw`` file: binary (one block) or hex text (one block per line)."""
    data = path.read_bytes()
    if data and set(data[:4096]) <= _HEX:
        for lineno, line in enumerate(data.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            try:
                yield f"line {lineno}", bytes.fromhex(line.decode()), None, None, None
            except ValueError:
                text = line[:200].decode(errors="replace")
                yield f"line {lineno}", None, "not hex", text, None
        return
    yield "block", data, None, None, 0


def iter_blk_payloads(path: Path, magic: bytes = MAINNET_MAGIC) -> Iterator[Payload]:
    """Blocks of a ``blk*.dat`` file; bad framing is reported and skipped to the next magic."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            pos = 0
            while pos + 8 <= size:
                head = mm[pos : pos + 8]
                if head[:4] == b"\x00\x00\x00\x00":
                    return  # pre-allocated zero padding: end of data
                where = f"offset {pos}"
                length = int.from_bytes(head[4:8], "little")
                if head[:4] != magic or not HEADER_SIZE < length <= MAX_BLOCK_SIZE:
                    nxt = mm.find(magic, pos + 1)
                    reason = (
                        f"bad magic {head[:4].hex()}"
                        if head[:4] != magic
                        else f"bad block size {length}"
                    )
                    skipped = (nxt if nxt >= 0 else size) - pos
                    record = {"head": head.hex()}
                    yield where, None, f"{reason}; skipped {skipped} bytes", record, pos
                    if nxt < 0:
                        return
                    pos = nxt
                    continue
                end = pos + 8 + length
                yield where, mm[pos + 8 : min(end, size)], None, None, pos + 8  # short: cut
                pos = end
            if pos < size and mm[pos:size].strip(b"\x00"):
                tail = {"tail": mm[pos:size].hex()}
                yield f"offset {pos}", None, "truncated record header", tail, pos


def _parse_fast(
    data: bytes, verify_merkle: bool, base: int, unit: str, network: str | None
) -> tuple[str, int, int | None, Columns] | str:
    """``parse_block_fast`` with the address keys encoded (run in a worker process);
    the reason as a string when the block is bad."""
    try:
        block_hash, block_ts, height, cols = parse_block_fast(
            data, verify_merkle, base, unit, network=network
        )
    except ValueError as exc:
        return str(exc)
    cols.outpoints = set()  # not sent back: the parent does not derive addresses
    keys = {k for k in cols.in_key if isinstance(k, bytes)}
    keys.update(k for k in cols.out_key if isinstance(k, bytes))
    text = encode_keys(keys)
    cols.in_key = [text[k] if isinstance(k, bytes) else k for k in cols.in_key]
    cols.out_key = [text[k] if isinstance(k, bytes) else k for k in cols.out_key]
    return block_hash, block_ts, height, cols


def _add_parsed(
    batch: Batch,
    parsed: tuple[str, int, int | None, Columns] | str,
    data: bytes,
    source: str,
    where: str,
    q: Quarantine,
    verify_merkle: bool,
) -> None:
    """Count and add one block parsed by ``_parse_fast`` (as ``add_raw_block`` does)."""
    batch.blocks_read += 1
    if isinstance(parsed, str):
        batch.blocks_quarantined += 1
        record = {"bytes": len(data), "head_hex": data[:HEADER_SIZE].hex()}
        reject(q, BitcoinFormatError(source, where, parsed), record)
        return
    _, block_ts, height, cols = parsed
    batch.headers_checked += 1
    if verify_merkle:
        batch.merkle_checked += 1
    else:
        batch.skip("merkle", NO_VERIFY_MERKLE)
    batch.txs_read += len(cols.txid)
    batch.add_columns(cols, height, block_ts)


def _pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` processes (0: one per core); None for one (parse inline)."""
    n = workers or os.cpu_count() or 1
    if n <= 1:
        return None
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(n, mp_context=ctx)


def iter_raw_batches(
    path: Path,
    fmt: str,
    q: Quarantine,
    batch_txs: int,
    magic: bytes = MAINNET_MAGIC,
    verify_merkle: bool = True,
    network: str | None = None,
    parser: str = "fast",
    workers: int = 1,
    known: set[bytes] | None = None,
) -> Iterator[Batch]:
    """Batches of about ``batch_txs`` transactions from a ``raw`` or ``blk`` file.

    ``network``: whose proof-of-work limit applies (``blk``: from the magic by default).
    ``workers``: processes parsing a ``blk`` file's blocks in parallel with the bulk
    parser (0: one per core; 1: in this process). Blocks come back in file order, so
    the tables are the same. ``known``: outpoints loaded so far (see ``add_raw_block``;
    one process only).
    """
    batch = Batch()
    source = str(path)
    if fmt == "blk":
        payloads = iter_blk_payloads(path, magic)
        network = network or MAGIC_NETWORK.get(magic)
    else:
        payloads = iter_raw_payloads(path)
    pool = _pool(workers) if parser == "fast" and fmt == "blk" else None
    pending: deque = deque()  # (where, data, future) in file order
    window = 4 * (pool._max_workers if pool is not None else 1)  # noqa: SLF001

    def drain(limit: int) -> Iterator[Batch]:
        nonlocal batch
        while len(pending) > limit:
            where, data, fut = pending.popleft()
            _add_parsed(batch, fut.result(), data, source, where, q, verify_merkle)
            if batch.n_txs >= batch_txs:
                yield batch
                batch = Batch()

    try:
        for where, data, error, record, offset in payloads:
            if data is None:
                yield from drain(0)
                batch.blocks_read += 1
                batch.blocks_quarantined += 1
                reject(q, BitcoinFormatError(source, where, str(error)), record)
                continue
            base, unit = (offset, "file offset") if offset is not None else (0, "block byte")
            if pool is not None:
                data = bytes(data)
                fut = pool.submit(_parse_fast, data, verify_merkle, base, unit, network)
                pending.append((where, data, fut))
                yield from drain(window)
                continue
            add_raw_block(
                batch, data, source, where, q, verify_merkle, base, unit, network, parser, known
            )
            if batch.n_txs >= batch_txs:
                yield batch
                batch = Batch()
        yield from drain(0)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    yield batch
