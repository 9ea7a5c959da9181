"""Load Bitcoin chain data into the agreed tables (``txs``, ``inputs``, ``outputs``).

Sources (``fmt``; ``"auto"`` looks at the first bytes):

- ``rpc``: Bitcoin Core JSON-RPC results, ``getblock <hash> 2|3`` and ``getrawtransaction
  <txid> true``, pre-v22 and current shapes (``ownergraph.loaders.bitcoin_rpc``);
- ``raw``: a serialized block (binary, or hex lines) (``ownergraph.loaders.bitcoin_raw``);
- ``blk``: Bitcoin Core ``blk*.dat`` files (magic + size framed blocks);

plus mempool first-seen logs (``ownergraph.loaders.bitcoin_mempool``).

Loading streams: ``iter_batches`` reads file by file, block by block, and yields batches
of parsed transactions; ``assemble`` joins them: duplicates (same txid seen twice, e.g.
from a block and from ``getrawtransaction``) are kept once, each input is resolved from
the output it spends when that output is in the loaded data (address and value;
``address_source="prevout"``), else keeps the address proven by its scriptSig/witness
(``"scriptsig"``/``"witness"``, value unknown) or stays unresolved; fees are computed
where every input value is known; first-seen is the earliest of mempool and block time.

Tables (pandas):

- ``txs``: txid, block_height, block_ts, first_seen_ts, fee_sat (null unless every input
  value is known; null for coinbase), n_inputs (coinbase input not counted), n_outputs,
  coinbase;
- ``inputs``: txid, vin, prev_txid, prev_vout, address, sat, address_source (one row per
  non-coinbase input);
- ``outputs``: txid, vout, address (null for OP_RETURN / multisig / non-standard), sat,
  script_type.

Bad records are quarantined (JSONL ``{"source", "line", "record", "reason"}``) and the load
goes on, or, with ``strict=True``, raise ``BitcoinFormatError``. ``LoadSummary`` reconciles:
blocks read = loaded + quarantined; transactions read = loaded + duplicates + quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ownergraph.defaults import BTC_PARSE_WORKERS
from ownergraph.loaders.bitcoin_batch import Batch, BitcoinFormatError, typed
from ownergraph.loaders.bitcoin_mempool import FirstSeen, read_first_seen
from ownergraph.loaders.bitcoin_raw import (
    MAGIC_NETWORK,
    MAINNET_MAGIC,
    POW_LIMITS,
    iter_raw_batches,
)
from ownergraph.loaders.bitcoin_rpc import iter_rpc_batches
from ownergraph.loaders.quarantine import Quarantine

__all__ = [
    "FORMATS",
    "BitcoinFormatError",
    "BitcoinTables",
    "LoadSummary",
    "assemble",
    "detect_format",
    "iter_batches",
    "load_bitcoin",
    "load_bitcoin_node",
    "read_first_seen",
]

FORMATS = ("auto", "rpc", "raw", "blk")
DEFAULT_BATCH_TXS = 50_000


@dataclass
class LoadSummary:
    """Counts of one load; they reconcile (see ``check``)."""

    files: int = 0
    blocks_read: int = 0
    blocks_loaded: int = 0
    blocks_quarantined: int = 0
    txs_read: int = 0
    txs_loaded: int = 0
    txs_duplicate: int = 0
    txs_quarantined: int = 0
    values_rejected: int = 0
    headers_checked: int = 0
    headers_unchecked: int = 0
    merkle_checked: int = 0
    merkle_skipped: int = 0
    inputs: int = 0
    inputs_from_prevout: int = 0
    inputs_from_script: int = 0
    inputs_unresolved: int = 0
    outputs: int = 0
    outputs_without_address: int = 0
    multi_input_txs: int = 0
    mempool_rows: int = 0
    mempool_quarantined: int = 0
    first_seen_from_mempool: int = 0
    negative_fees: int = 0
    files_empty: list[str] = field(default_factory=list)  # files that loaded no transaction
    header_skips: dict[str, int] = field(default_factory=dict)  # reason -> blocks
    merkle_skips: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise if the counts do not add up (a bug, never bad input)."""
        if self.blocks_read != self.blocks_loaded + self.blocks_quarantined:
            raise AssertionError(f"blocks do not reconcile: {self}")
        if self.txs_read != self.txs_loaded + self.txs_duplicate + self.txs_quarantined:
            raise AssertionError(f"transactions do not reconcile: {self}")
        resolved = self.inputs_from_prevout + self.inputs_from_script + self.inputs_unresolved
        if self.inputs != resolved:
            raise AssertionError(f"inputs do not reconcile: {self}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def header_lines(self) -> list[tuple[str, str]]:
        """What was checked and what was skipped, every reason in full, for a summary."""

        def line(checked: int, skips: dict[str, int]) -> str:
            parts = [f"checked {checked:,}"]
            parts += [f"skipped {n:,}: {why}" for why, n in sorted(skips.items())]
            return "; ".join(parts)

        heads = line(self.headers_checked, self.header_skips)
        roots = line(self.merkle_checked, self.merkle_skips)
        return [
            ("block headers (proof of work, version, time)", heads),
            ("merkle roots", roots),
        ]


@dataclass
class BitcoinTables:
    txs: pd.DataFrame
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    summary: LoadSummary = field(default_factory=LoadSummary)


def detect_format(path: str | Path, magic: bytes | None = None) -> str:
    """``rpc``, ``raw`` or ``blk`` (starts with ``magic``, or any known network's) from a
    file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head[:4] == magic or (magic is None and head[:4] in MAGIC_NETWORK):
        return "blk"
    if head.lstrip()[:1] in (b"{", b"["):
        return "rpc"
    return "raw"


def iter_batches(
    paths: Iterable[str | Path],
    fmt: str = "auto",
    quarantine: Quarantine | None = None,
    batch_txs: int = DEFAULT_BATCH_TXS,
    verify_merkle: bool = True,
    magic: bytes | None = None,
    network: str | None = None,
    parser: str = "fast",
    workers: int = BTC_PARSE_WORKERS,
    known: set[bytes] | None = None,
) -> Iterator[Batch]:
    """Parsed transactions, file by file, in batches of about ``batch_txs``.

    ``magic``: the ``blk`` record magic (default: the network magic a file starts with,
    else mainnet's). ``network`` (main/test/signet/regtest): whose proof-of-work limit raw
    headers meet (default: the ``blk`` magic's network; for a ``raw`` file the loosest,
    regtest's). ``workers``: processes parsing a ``blk`` file's blocks (0: one per core).
    ``known``: outpoints of the outputs parsed so far (default: a new set for these files),
    so that the inputs spending them are resolved from the outputs instead of hashed.
    """
    if known is None:
        known = set()
    if fmt not in FORMATS:
        raise ValueError(f"unknown Bitcoin format {fmt!r}; expected one of {FORMATS}")
    if network is not None and network not in POW_LIMITS:
        raise ValueError(f"unknown network {network!r}; expected one of {tuple(POW_LIMITS)}")
    q = quarantine if quarantine is not None else Quarantine()
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        kind = detect_format(path, magic) if fmt == "auto" else fmt
        if kind == "rpc":
            yield from iter_rpc_batches(path, q, batch_txs, verify_merkle, network)
        else:
            m = magic or _file_magic(path)
            yield from iter_raw_batches(
                path, kind, q, batch_txs, m, verify_merkle, network, parser, workers, known
            )


def _file_magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head if head in MAGIC_NETWORK else MAINNET_MAGIC


def assemble(
    batches: Iterable[Batch], first_seen: FirstSeen | None = None, files: int = 0
) -> BitcoinTables:
    """Join batches into the three tables: dedupe, resolve inputs, fees, first-seen."""
    s = LoadSummary(files=files)
    parts: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    for b in batches:
        s.blocks_read += b.blocks_read
        s.blocks_quarantined += b.blocks_quarantined
        s.txs_read += b.txs_read
        s.txs_quarantined += b.txs_quarantined
        s.values_rejected += b.values_rejected
        s.headers_checked += b.headers_checked
        s.headers_unchecked += b.headers_unchecked
        s.merkle_checked += b.merkle_checked
        s.merkle_skipped += b.merkle_skipped
        for mine, theirs in ((s.header_skips, b.header_skips), (s.merkle_skips, b.merkle_skips)):
            for why, n in theirs.items():
                mine[why] = mine.get(why, 0) + n
        if b.n_txs:
            parts.append(b.frames())
    s.blocks_loaded = s.blocks_read - s.blocks_quarantined
    if parts:
        txs = pd.concat([p[0] for p in parts], ignore_index=True)
        inputs = pd.concat([p[1] for p in parts], ignore_index=True)
        outputs = pd.concat([p[2] for p in parts], ignore_index=True)
    else:
        txs, inputs, outputs = Batch().frames()

    # Duplicates: keep a row that knows its block (a getrawtransaction copy may not).
    # Inputs and outputs can only repeat with their transaction, so with distinct txids
    # there is nothing to drop (and two two-column duplicate checks are saved).
    if txs["txid"].duplicated().any():
        order = txs["block_height"].isna().to_numpy().argsort(kind="stable")
        keep = txs.iloc[order].drop_duplicates("txid", keep="first").sort_index()
        s.txs_duplicate = len(txs) - len(keep)
        txs = keep.reset_index(drop=True)
        inputs = inputs.drop_duplicates(["txid", "vin"]).reset_index(drop=True)
        outputs = outputs.drop_duplicates(["txid", "vout"]).reset_index(drop=True)
    s.txs_loaded = len(txs)

    inputs = resolve_inputs(inputs, outputs)
    txs = _with_fees(txs, inputs, outputs, s)
    txs = _with_first_seen(txs, first_seen, s)
    txs, inputs, outputs = typed(txs, inputs, outputs)
    txs = txs.astype({"first_seen_ts": "Int64", "fee_sat": "Int64"})

    s.inputs = len(inputs)
    src = inputs["address_source"]
    s.inputs_from_prevout = int((src == "prevout").sum())
    s.inputs_from_script = int(src.isin(["scriptsig", "witness"]).sum())
    s.inputs_unresolved = s.inputs - s.inputs_from_prevout - s.inputs_from_script
    s.outputs = len(outputs)
    s.outputs_without_address = int(outputs["address"].isna().sum())
    s.multi_input_txs = int((txs["n_inputs"] > 1).sum())
    s.check()
    cols_tx = ["txid", "block_height", "block_ts", "first_seen_ts", "fee_sat"]
    cols_tx += ["n_inputs", "n_outputs", "coinbase"]
    return BitcoinTables(txs[cols_tx], inputs, outputs, s)


def resolve_inputs(inputs: pd.DataFrame, outputs: pd.DataFrame) -> pd.DataFrame:
    """Fill each input's address and value from the output it spends, when loaded."""
    prev = outputs[["txid", "vout", "address", "sat"]].rename(
        columns={"txid": "prev_txid", "vout": "prev_vout", "address": "_a", "sat": "_s"}
    )
    prev = prev.astype({"prev_vout": "Int64"})
    merged = inputs.merge(prev, on=["prev_txid", "prev_vout"], how="left", indicator=True)
    found = (merged["_merge"] == "both").to_numpy()
    out = inputs.reset_index(drop=True)
    out["address"] = out["address"].mask(found, merged["_a"].astype("string"))
    out["sat"] = out["sat"].astype("Int64").mask(found, merged["_s"].astype("Int64"))
    out["address_source"] = out["address_source"].astype("string").mask(found, "prevout")
    return out


def _with_fees(
    txs: pd.DataFrame, inputs: pd.DataFrame, outputs: pd.DataFrame, s: LoadSummary
) -> pd.DataFrame:
    g = inputs.groupby("txid", sort=False)["sat"].agg(["sum", "count"])
    out_sum = outputs.groupby("txid", sort=False)["sat"].sum()
    txs = txs.copy()
    in_sum = txs["txid"].map(g["sum"]).astype("Int64")
    known = txs["txid"].map(g["count"]).astype("Int64").fillna(0)
    complete = (known == txs["n_inputs"]) & ~txs["coinbase"] & (txs["n_inputs"] > 0)
    fee = in_sum - txs["txid"].map(out_sum).astype("Int64").fillna(0)
    fee = fee.where(complete.to_numpy(dtype=bool), pd.NA)
    negative = (fee < 0).fillna(False)
    s.negative_fees = int(negative.sum())
    txs["fee_sat"] = fee.where(~negative.to_numpy(dtype=bool), pd.NA)  # inconsistent input
    return txs


def _with_first_seen(
    txs: pd.DataFrame, first_seen: FirstSeen | None, s: LoadSummary
) -> pd.DataFrame:
    txs = txs.copy()
    block = txs["block_ts"].astype("Int64")
    if first_seen is not None:
        s.mempool_rows = first_seen.rows_read
        s.mempool_quarantined = first_seen.rows_quarantined
    if first_seen is None or first_seen.times.empty:
        txs["first_seen_ts"] = block
        return txs
    seen = txs["txid"].map(first_seen.times).astype("Int64")
    earlier = seen.notna() & (block.isna() | (seen < block))
    s.first_seen_from_mempool = int(earlier.sum())
    txs["first_seen_ts"] = seen.where(earlier, block)
    return txs


def load_bitcoin(
    paths: Iterable[str | Path],
    fmt: str = "auto",
    mempool: Iterable[str | Path] = (),
    quarantine: Quarantine | str | Path | None = None,
    strict: bool = False,
    batch_txs: int = DEFAULT_BATCH_TXS,
    verify_merkle: bool = True,
    progress: Callable[[Batch], None] | None = None,
    network: str | None = None,
    parser: str = "fast",
    workers: int = BTC_PARSE_WORKERS,
) -> BitcoinTables:
    """Read chain files (and mempool logs) into ``BitcoinTables``.

    ``quarantine`` is a ``Quarantine`` or a JSONL path for rejected records; ``strict``
    raises ``BitcoinFormatError`` at the first bad record instead. ``progress`` is
    called with each batch as it is parsed. ``summary.files_empty`` lists the files
    that loaded no transaction. ``parser``: ``"fast"`` (bulk) or ``"embit"`` (the
    reference) for raw blocks; ``workers``: processes parsing a ``blk`` file's blocks
    (0: one per core).
    """
    paths = [Path(p) for p in paths]
    q = quarantine if isinstance(quarantine, Quarantine) else None
    if q is None:
        q = Quarantine(Path(quarantine) if quarantine is not None else None, strict=strict)
    try:
        seen = read_first_seen(mempool, q) if mempool else None

        empty: list[str] = []
        known: set[bytes] = set()  # outpoints parsed so far, across the files

        def batches() -> Iterator[Batch]:
            for path in paths:
                loaded = 0
                for b in iter_batches(
                    [path],
                    fmt,
                    q,
                    batch_txs,
                    verify_merkle,
                    network=network,
                    parser=parser,
                    workers=workers,
                    known=known,
                ):
                    loaded += b.n_txs
                    if progress is not None:
                        progress(b)
                    yield b
                if not loaded:
                    empty.append(str(path))

        tables = assemble(batches(), seen, files=len(paths))
        tables.summary.files_empty = empty
        return tables
    finally:
        if not isinstance(quarantine, Quarantine):
            q.close()


def read_processors(path: str | Path) -> list[str]:
    """Payment-processor addresses: one per line (blank lines and ``#`` comments skipped).

    A line with spaces inside, or a line that is not a plausible address, is an error
    naming the line: a wrong processor set silently changes every payment match.
    """
    out: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if " " in text or "\t" in text or not 14 <= len(text) <= 90 or not text.isalnum():
                raise BitcoinFormatError(str(path), f"line {lineno}", "not a Bitcoin address")
            out.append(text)
    return out


def load_bitcoin_node(
    client: Any,
    from_height: int,
    to_height: int,
    mempool: Iterable[str | Path] = (),
    quarantine: Quarantine | str | Path | None = None,
    strict: bool = False,
    batch_txs: int = DEFAULT_BATCH_TXS,
    progress: Callable[[Batch], None] | None = None,
    verify_merkle: bool = True,
    network: str | None = None,
) -> BitcoinTables:
    """``load_bitcoin`` for blocks fetched from a node (``bitcoin_node.RpcClient``) by
    height, Bitcoin Core's or btcd's ``getblock <hash> 2`` shape; headers are checked
    against ``network``'s proof-of-work limit (default: the node's ``chain``)."""
    from ownergraph.loaders.bitcoin_node import iter_node_batches

    q = quarantine if isinstance(quarantine, Quarantine) else None
    if q is None:
        q = Quarantine(Path(quarantine) if quarantine is not None else None, strict=strict)
    try:
        seen = read_first_seen(mempool, q) if mempool else None

        def batches() -> Iterator[Batch]:
            for b in iter_node_batches(
                client, from_height, to_height, q, batch_txs, verify_merkle, network
            ):
                if progress is not None:
                    progress(b)
                yield b

        return assemble(batches(), seen, files=0)
    finally:
        if not isinstance(quarantine, Quarantine):
            q.close()
