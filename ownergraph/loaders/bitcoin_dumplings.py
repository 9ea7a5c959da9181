"""Transactions in the Dumplings CoinJoin scanner's text format, as loader tables.

One transaction a line: ``txid:::blockhash:::index:::time:::inputs:::outputs``, inputs as
``{prevtxid-vout-value+script+type}`` and outputs as ``{value+script+type}`` joined by
``}{`` (scripts in hex). Used to measure CoinJoin detection on real mixes; the tables
have the loaders' shapes (``txs``, ``inputs``, ``outputs``; input values and addresses
come from the line, ``address_source="prevout"``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from ownergraph.loaders.bitcoin_batch import Batch, BitcoinFormatError
from ownergraph.loaders.bitcoin_script import classify_output


def _address(script_hex: str) -> tuple[str, str | None]:
    try:
        return classify_output(bytes.fromhex(script_hex))
    except ValueError:
        return "nonstandard", None


def dumplings_tables(
    lines: Iterable[str], source: str = "dumplings"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(txs, inputs, outputs)`` of the transactions in ``lines``."""
    batch = Batch()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.strip().split(":::")
        if len(parts) != 6:
            raise BitcoinFormatError(source, f"line {lineno}", f"{len(parts)} fields, not 6")
        txid, _block, _index, time, ins, outs = parts
        inputs = []
        for i, item in enumerate(ins.strip("{}").split("}{")):
            prev, script, _kind = item.split("+")
            prev_txid, vout, value = prev.rsplit("-", 2)
            address = _address(script)[1] if script else None
            inputs.append((i, prev_txid, int(vout), address, int(value), "prevout"))
        outputs = []
        for j, item in enumerate(outs.strip("{}").split("}{")):
            value, script, _kind = item.split("+")
            kind, address = _address(script)
            outputs.append((j, address, int(value), kind))
        batch.add_tx(txid, None, int(time), False, inputs, outputs)
    return batch.frames()


def iter_dumplings_zip(path: str | Path) -> Iterator[tuple[str, list[str]]]:
    """``(member name, lines)`` of each ``*.txt`` member of a Dumplings zip."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".txt"):
                yield name, zf.read(name).decode("utf-8").splitlines()
