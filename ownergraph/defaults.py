"""Defaults that the library and the CLI share, in a module light enough for the CLI to
import at start-up (no numpy, pandas or scipy)."""

# Author linking: precision to reach among held-out candidate pairs (identifier labels).
TARGET_PRECISION = 0.8
# Identifier-label evaluation and owner calibration: share of identifier-linked ads hidden.
HIDE_SHARE = 0.2
# Bitcoin raw/blk loads: processes parsing blocks in parallel (0: one per CPU core).
BTC_PARSE_WORKERS = 0
