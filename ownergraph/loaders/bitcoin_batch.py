"""Parsed Bitcoin transactions gathered column-wise, and the loaders' error type.

A parser adds one whole transaction at a time (``Batch.add_tx``), so a transaction that
fails half-way leaves no rows behind. ``Batch.frames`` gives the three DataFrames of the
agreed format (txs, inputs, outputs; see ``ownergraph.loaders.bitcoin``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ownergraph.loaders.quarantine import InputError, Quarantine

SAT_PER_BTC = 100_000_000
MAX_SAT = 21_000_000 * SAT_PER_BTC

TX_COLUMNS = ("txid", "block_height", "block_ts", "n_inputs", "n_outputs", "coinbase")
INPUT_COLUMNS = ("txid", "vin", "prev_txid", "prev_vout", "address", "sat", "address_source")
OUTPUT_COLUMNS = ("txid", "vout", "address", "sat", "script_type")

# (vin, prev_txid, prev_vout, address, sat, address_source)
InputRow = tuple[int, str, int, str | None, int | None, str | None]
# (vout, address, sat, script_type)
OutputRow = tuple[int, str | None, int, str]


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
    headers_checked: int = 0  # raw headers: proof of work, version, time
    headers_unchecked: int = 0  # JSON blocks: no raw header to hash
    merkle_checked: int = 0
    merkle_skipped: int = 0
    tx: dict[str, list] = field(default_factory=lambda: {c: [] for c in TX_COLUMNS})
    inp: dict[str, list] = field(default_factory=lambda: {c: [] for c in INPUT_COLUMNS})
    out: dict[str, list] = field(default_factory=lambda: {c: [] for c in OUTPUT_COLUMNS})

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
        cols = self.inp
        for row in inputs:
            cols["txid"].append(txid)
            for name, value in zip(INPUT_COLUMNS[1:], row, strict=True):
                cols[name].append(value)
        cols = self.out
        for row in outputs:
            cols["txid"].append(txid)
            for name, value in zip(OUTPUT_COLUMNS[1:], row, strict=True):
                cols[name].append(value)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(txs, inputs, outputs)`` with the agreed dtypes."""
        txs = pd.DataFrame(self.tx, columns=list(TX_COLUMNS))
        inputs = pd.DataFrame(self.inp, columns=list(INPUT_COLUMNS))
        outputs = pd.DataFrame(self.out, columns=list(OUTPUT_COLUMNS))
        return typed(txs, inputs, outputs)


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
