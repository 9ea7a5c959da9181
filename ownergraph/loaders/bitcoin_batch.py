"""Parsed Bitcoin transactions gathered column-wise, and the loaders' error type.

A parser adds one whole transaction at a time (``Batch.add_tx``), so a transaction that
fails half-way leaves no rows behind. ``Batch.frames`` gives the three DataFrames of the
agreed format (txs, inputs, outputs; see ``ownergraph.loaders.bitcoin``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ownergraph.loaders.bitcoin_addresses import encode_key_array
from ownergraph.loaders.bitcoin_fastparse import Columns
from ownergraph.loaders.quarantine import InputError, Quarantine

SAT_PER_BTC = 100_000_000
MAX_SAT = 21_000_000 * SAT_PER_BTC

TX_COLUMNS = ("txid", "block_height", "block_ts", "n_inputs", "n_outputs", "coinbase")
INPUT_COLUMNS = ("txid", "vin", "prev_txid", "prev_vout", "address", "sat", "address_source")
OUTPUT_COLUMNS = ("txid", "vout", "address", "sat", "script_type")

# (vin, prev_txid, prev_vout, address (or an address key, bytes), sat, address_source)
InputRow = tuple[int, str, int, str | bytes | None, int | None, str | None]
# (vout, address (or key), sat, script_type)
OutputRow = tuple[int, str | bytes | None, int, str]


class BitcoinFormatError(InputError):
    """Bad Bitcoin input: names the file, the block/transaction and the reason."""


def reject(q: Quarantine, err: BitcoinFormatError, record: Any) -> None:
    """Quarantine a bad record, or raise ``err`` itself in strict mode."""
    if q.strict:
        raise err
    q.add(err.source, err.where, record, err.reason)


def check_txid(value: Any, what: str = "txid") -> str:
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError(f"{what} is not a 64-character hex string")
    try:
        bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not hex") from None
    return value.lower()


def check_sat(value: int, what: str) -> int:
    if not 0 <= value <= MAX_SAT:
        raise ValueError(f"{what} {value} sat is outside 0..21e6 BTC")
    return value


@dataclass
class Batch:
    """Transactions of a run of blocks (or records), column-wise."""

    blocks_read: int = 0
    blocks_quarantined: int = 0
    txs_read: int = 0
    txs_quarantined: int = 0
    values_rejected: int = 0  # JSON values / byte runs that are neither block nor tx
    headers_checked: int = 0  # proof of work, version, time (raw, or rebuilt from JSON)
    headers_unchecked: int = 0
    merkle_checked: int = 0
    merkle_skipped: int = 0
    # why a header or merkle root was not checked: reason -> blocks
    header_skips: dict[str, int] = field(default_factory=dict)
    merkle_skips: dict[str, int] = field(default_factory=dict)
    tx: dict[str, list] = field(default_factory=lambda: {c: [] for c in TX_COLUMNS})
    inp: dict[str, list] = field(default_factory=lambda: {c: [] for c in INPUT_COLUMNS})
    out: dict[str, list] = field(default_factory=lambda: {c: [] for c in OUTPUT_COLUMNS})

    outpoints: list[bytes] = field(default_factory=list)  # add_columns: raw previous outpoints
    _bulk: bool = False  # rows came from add_columns

    def skip(self, what: str, reason: str) -> None:
        """Count one block whose header (``what="header"``) or merkle root was not
        checked, and why."""
        if what == "header":
            self.headers_unchecked += 1
            self.header_skips[reason] = self.header_skips.get(reason, 0) + 1
        else:
            self.merkle_skipped += 1
            self.merkle_skips[reason] = self.merkle_skips.get(reason, 0) + 1

    @property
    def n_txs(self) -> int:
        return len(self.tx["txid"])

    def add_tx(
        self,
        txid: str,
        block_height: int | None,
        block_ts: int | None,
        coinbase: bool,
        inputs: list[InputRow],
        outputs: list[OutputRow],
    ) -> None:
        t = self.tx
        t["txid"].append(txid)
        t["block_height"].append(block_height)
        t["block_ts"].append(block_ts)
        t["n_inputs"].append(len(inputs))
        t["n_outputs"].append(len(outputs))
        t["coinbase"].append(coinbase)
        if inputs:
            cols = self.inp
            cols["txid"].extend([txid] * len(inputs))
            for name, values in zip(INPUT_COLUMNS[1:], zip(*inputs, strict=True), strict=True):
                cols[name].extend(values)
        if outputs:
            cols = self.out
            cols["txid"].extend([txid] * len(outputs))
            for name, values in zip(OUTPUT_COLUMNS[1:], zip(*outputs, strict=True), strict=True):
                cols[name].extend(values)

    def add_columns(self, c: Columns, block_height: int | None, block_ts: int | None) -> None:
        """A whole block's transactions, column-wise (from the bulk parser); the inputs'
        and outputs' txid, vin/vout and previous outpoints are derived in ``frames``."""
        if self.inp["vin"] or self.out["vout"]:
            raise RuntimeError("a Batch takes add_tx or add_columns rows, not both")
        self._bulk = True
        n = len(c.txid)
        t = self.tx
        t["txid"].extend(c.txid)
        t["block_height"].extend([block_height] * n)
        t["block_ts"].extend([block_ts] * n)
        t["n_inputs"].extend(c.n_inputs)
        t["n_outputs"].extend(c.n_outputs)
        t["coinbase"].extend(c.coinbase)
        self.outpoints.extend(c.in_outpoint)
        i = self.inp
        i["address"].extend(c.in_key)
        i["address_source"].extend(c.in_source)
        o = self.out
        for name, values in (
            ("address", c.out_key), ("sat", c.out_sat), ("script_type", c.out_kind),
        ):  # fmt: skip
            o[name].extend(values)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(txs, inputs, outputs)`` with the agreed dtypes; address keys (bytes, from
        the bulk parser) are encoded to address strings here, all at once. Columns are
        built through Arrow (about 10x faster than pandas from Python lists)."""
        inp = dict(self.inp, address=_address_column(self.inp["address"]))
        out = dict(self.out, address=_address_column(self.out["address"]))
        if self._bulk:
            _derive_rows(self.tx, self.outpoints, inp, out)
        return typed(
            _frame(self.tx, TX_COLUMNS, _TX_TYPES),
            _frame(inp, INPUT_COLUMNS, _IN_TYPES),
            _frame(out, OUTPUT_COLUMNS, _OUT_TYPES),
        )


def _hex(raw: bytes, width: int) -> pa.Array:
    """Arrow strings of the hex of each ``width``-byte run of ``raw`` (one ``hex`` call)."""
    n = len(raw) // width
    offsets = np.arange(0, 2 * width * (n + 1), 2 * width, dtype=np.int64)
    text = raw.hex().encode("ascii")
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text)).cast(
        pa.string()
    )


def _derive_rows(tx: dict[str, list], outpoints: list[bytes], inp: dict, out: dict) -> None:
    """The bulk parser's input and output rows follow its transactions: their txid and
    vin/vout from ``n_inputs``/``n_outputs``, previous txid/vout from the raw outpoints."""
    txid = pa.array(tx["txid"], pa.string())
    for cols, counts, index in ((inp, tx["n_inputs"], "vin"), (out, tx["n_outputs"], "vout")):
        per_tx = np.array(counts, dtype=np.int64)
        owner = np.repeat(np.arange(len(per_tx)), per_tx)
        starts = np.cumsum(per_tx) - per_tx
        cols["txid"] = txid.take(pa.array(owner))
        cols[index] = np.arange(len(owner), dtype=np.int64) - starts[owner]
    raw = np.frombuffer(b"".join(outpoints), np.uint8).reshape(-1, 36)
    inp["prev_txid"] = _hex(raw[:, 31::-1].tobytes(), 32)  # display order: reversed
    inp["prev_vout"] = pa.array(raw[:, 32:].copy().view("<u4").ravel().astype(np.int64))
    inp["sat"] = pa.nulls(len(raw), pa.int64())


def _address_column(col: list) -> pa.Array:
    """Address keys (bytes), address strings and nulls as one Arrow string column; the
    distinct keys are encoded at once, straight into Arrow."""
    if not col:
        return pa.array([], pa.string())
    codes, uniques = pd.factorize(np.array(col, dtype=object), use_na_sentinel=True)
    is_key = np.fromiter((isinstance(u, bytes) for u in uniques), bool, len(uniques))
    if is_key.all():
        texts = encode_key_array(list(uniques))
    else:  # some addresses came as text (non-template scripts, or a worker's)
        mixed = np.asarray(uniques, dtype=object).copy()
        if is_key.any():
            encoded = encode_key_array(list(mixed[is_key]))
            mixed[is_key] = encoded.to_numpy(zero_copy_only=False)
        texts = pa.array(mixed, pa.string())
    return texts.take(pa.array(codes, mask=codes < 0))


def _column(
    values: list | pa.Array | np.ndarray, dtype: str
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One column from a Python list (or an Arrow or numpy array), with its pandas dtype."""
    if isinstance(values, np.ndarray):
        return values.astype(dtype, copy=False)
    if isinstance(values, pa.Array):
        return pd.array(values, dtype=dtype)
    if dtype in ("int64", "bool"):
        return np.array(values, dtype=dtype)
    arrow = pa.array(values, pa.string() if dtype == "string" else _ARROW[dtype])
    return pd.array(arrow, dtype=dtype)


def _frame(cols: dict[str, list], names: tuple[str, ...], types: dict[str, str]) -> pd.DataFrame:
    n = len(cols[names[0]])
    return pd.DataFrame({c: _column(cols[c], types[c]) for c in names}, index=pd.RangeIndex(n))


_ARROW = {"Int64": pa.int64(), "boolean": pa.bool_()}

_TX_TYPES = {
    "txid": "string",
    "block_height": "Int64",
    "block_ts": "Int64",
    "n_inputs": "Int64",
    "n_outputs": "Int64",
    "coinbase": "bool",
}
_IN_TYPES = {
    "txid": "string",
    "vin": "int64",
    "prev_txid": "string",
    "prev_vout": "Int64",
    "address": "string",
    "sat": "Int64",
    "address_source": "string",
}
_OUT_TYPES = {
    "txid": "string",
    "vout": "int64",
    "address": "string",
    "sat": "Int64",
    "script_type": "string",
}


def typed(
    txs: pd.DataFrame, inputs: pd.DataFrame, outputs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        txs.astype({k: v for k, v in _TX_TYPES.items() if k in txs.columns}),
        inputs.astype(_IN_TYPES),
        outputs.astype(_OUT_TYPES),
    )
