"""Raw serialized Bitcoin blocks, parsed with embit.

Two containers:

- ``raw``: one serialized block per file (binary), or hex text with one block per line
  (``getblock <hash> 0`` output);
- ``blk``: Bitcoin Core's ``blk*.dat``: records of ``magic (4) | size (4, LE) | block``
  (mainnet magic ``f9beb4d9``); zero padding at the end of a file ends it.

Every block is checked: reads past the end (truncation), bytes left over after the last
transaction, and (unless ``verify_merkle=False``) the header's merkle root against the
parsed transactions, which catches corrupt bytes that still parse.
A bad block is quarantined whole (its transactions are not loaded) and the next one is
read; in a ``blk`` file the size prefix finds it, or the next magic if the prefix is bad.
Block height comes from the coinbase (BIP34, block version >= 2), else null.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import string
from collections.abc import Iterator
from pathlib import Path

from embit.transaction import Transaction

from ownergraph.loaders.bitcoin_batch import (
    Batch,
    BitcoinFormatError,
    InputRow,
    OutputRow,
    check_sat,
    reject,
)
from ownergraph.loaders.bitcoin_script import classify_output, input_address
from ownergraph.loaders.quarantine import Quarantine

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")
HEADER_SIZE = 80
NULL_TXID = b"\x00" * 32
MAX_BLOCK_SIZE = 4_000_000  # consensus limit on serialized size (weight / 1)
_HEX = set(string.hexdigits.encode()) | set(b" \t\r\n")


class _StrictStream(io.BytesIO):
    """A byte stream whose short reads raise instead of returning fewer bytes."""

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        if n is not None and n >= 0 and len(data) < n:
            raise EOFError(f"truncated: needed {n} bytes at offset {self.tell() - len(data)}")
        return data


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


def parse_block(
    data: bytes, verify_merkle: bool = True
) -> tuple[str, int, int | None, list[Transaction]]:
    """``(block_hash, time, height, transactions)``; raises ValueError naming the problem."""
    if len(data) < HEADER_SIZE + 1:
        raise ValueError(f"truncated: {len(data)} bytes is shorter than a block header")
    header = data[:HEADER_SIZE]
    version = int.from_bytes(header[0:4], "little", signed=True)
    block_ts = int.from_bytes(header[68:72], "little")
    block_hash = dsha256(header)[::-1].hex()
    stream = _StrictStream(data[HEADER_SIZE:])
    txs: list[Transaction] = []
    try:
        n = _read_count(stream)
        if n == 0 or n * 60 > len(data):
            raise ValueError(f"implausible transaction count {n} for {len(data)} bytes")
        for _ in range(n):
            txs.append(Transaction.read_from(stream))
    except Exception as exc:  # embit raises several types on bad bytes
        raise ValueError(f"tx {len(txs)}: {exc}") from None
    left = len(data) - HEADER_SIZE - stream.tell()
    if left:
        raise ValueError(f"{left} bytes left over after the last of {n} transactions")
    if verify_merkle and merkle_root([tx.hash() for tx in txs]) != header[36:68]:
        raise ValueError("merkle root does not match the transactions (corrupt block)")
    coinbase = txs[0].vin[0] if txs[0].vin else None
    height = bip34_height(version, coinbase.script_sig.data) if coinbase is not None else None
    return block_hash, block_ts, height, txs


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
    batch: Batch, data: bytes, source: str, where: str, q: Quarantine, verify_merkle: bool = True
) -> None:
    """Parse one serialized block into ``batch`` (or quarantine it whole)."""
    batch.blocks_read += 1
    try:
        block_hash, block_ts, height, txs = parse_block(data, verify_merkle)
        rows = [(tx.txid().hex(), *_rows(tx)) for tx in txs]
    except ValueError as exc:
        batch.blocks_quarantined += 1
        record = {"bytes": len(data), "head_hex": data[:HEADER_SIZE].hex()}
        reject(q, BitcoinFormatError(source, where, str(exc)), record)
        return
    batch.txs_read += len(rows)
    for txid, coinbase, inputs, outputs in rows:
        batch.add_tx(txid, height, block_ts, coinbase, inputs, outputs)


Payload = tuple[str, bytes | None, str | None, object]  # where, block, error, record


def iter_raw_payloads(path: Path) -> Iterator[Payload]:
    """Blocks of a ``raw`` file: binary (one block) or hex text (one block per line)."""
    data = path.read_bytes()
    if data and set(data[:4096]) <= _HEX:
        for lineno, line in enumerate(data.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            try:
                yield f"line {lineno}", bytes.fromhex(line.decode()), None, None
            except ValueError:
                yield f"line {lineno}", None, "not hex", line[:200].decode(errors="replace")
        return
    yield "block", data, None, None


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
                    yield where, None, f"{reason}; skipped {skipped} bytes", {"head": head.hex()}
                    if nxt < 0:
                        return
                    pos = nxt
                    continue
                end = pos + 8 + length
                yield where, mm[pos + 8 : min(end, size)], None, None  # short = truncated
                pos = end
            if pos < size and mm[pos:size].strip(b"\x00"):
                yield f"offset {pos}", None, "truncated record header", {"tail": mm[pos:size].hex()}


def iter_raw_batches(
    path: Path,
    fmt: str,
    q: Quarantine,
    batch_txs: int,
    magic: bytes = MAINNET_MAGIC,
    verify_merkle: bool = True,
) -> Iterator[Batch]:
    """Batches of about ``batch_txs`` transactions from a ``raw`` or ``blk`` file."""
    batch = Batch()
    source = str(path)
    payloads = iter_blk_payloads(path, magic) if fmt == "blk" else iter_raw_payloads(path)
    for where, data, error, record in payloads:
        if data is None:
            batch.blocks_read += 1
            batch.blocks_quarantined += 1
            reject(q, BitcoinFormatError(source, where, str(error)), record)
            continue
        add_raw_block(batch, data, source, where, q, verify_merkle)
        if batch.n_txs >= batch_txs:
            yield batch
            batch = Batch()
    yield batch
