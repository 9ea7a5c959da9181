"""Defaults that the library and the CLI share, in a module light enough for the CLI to
import at start-up (no numpy, pandas or scipy)."""

# Author linking: precision to reach among held-out candidate pairs (identifier labels).
TARGET_PRECISION = 0.8
# Identifier-label evaluation and owner calibration: share of identifier-linked ads hidden.
HIDE_SHARE = 0.2
# Bitcoin raw/blk loads: processes parsing blocks in parallel (0: one per CPU core).
BTC_PARSE_WORKERS = 0
# Bitcoin raw/blk loads in one process: outpoints remembered so that inputs spending them
# are resolved without hashing (~120 bytes each: 20M is ~2.4 GB); past it, inputs are hashed.
BTC_KNOWN_OUTPOINTS = 20_000_000
