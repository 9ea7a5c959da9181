"""Defaults that the library and the CLI share, in a module light enough for the CLI to
import at start-up (no numpy, pandas or scipy)."""

# Author linking: precision to reach among held-out candidate pairs (identifier labels).
TARGET_PRECISION = 0.8
# Identifier-label evaluation and owner calibration: share of identifier-linked ads hidden.
HIDE_SHARE = 0.2
# Owner calibration on more ads than this measures its settings on whole connected
# components of the evidence graph drawn at random up to this many ads (partitioning is
# local to a component): its ~150 partitions of the whole graph took ~150 s at 100k ads
# and would grow with the data.
CALIBRATION_MAX_ADS = 100_000
# Owner detection: look for generic phones/e-mails (ownergraph.owners.generic) and let
# them join only their ads that write alike (docs/results.md, "Generic identifiers").
GENERIC_IDENTIFIERS = True
# What a generic identifier still joins: "split" (only its ads that write alike) or "cut".
GENERIC_TREATMENT = "split"
# A generic mark needs two or more unrelated styles among groups that have identifiers of
# their own (an ad with only the line counts when author/wallet/picture ties it to one).
GENERIC_ANCHORED = True
# Owner calibration: how joins of identifier cores by similarity evidence (authors,
# pictures) are judged: "slack" (B-cubed precision within 0.005 of the evidence only
# attaching), "cut" (cut-and-rejoin join precision >= the target; ownergraph.cut_rejoin) or
# "both" (docs/results.md, "Joins measured by cut-and-rejoin").
JOIN_RULE = "slack"
# Bitcoin raw/blk loads: processes parsing blocks in parallel (0: one per CPU core). One:
# it skips hashing inputs that spend outputs it parsed, and on 2 cores a 100k-tx chain
# loaded at 18,857 tx/s with one process vs 15,603 with one per core (quiet machine).
BTC_PARSE_WORKERS = 1
# Bitcoin raw/blk loads in one process: outpoints remembered so that inputs spending them
# are resolved without hashing (~120 bytes each: 20M is ~2.4 GB); past it, inputs are hashed.
BTC_KNOWN_OUTPOINTS = 20_000_000

# The stages a project or the demo runs, in order (ownergraph.project, `ownergraph demo`).
STAGES = ("ads", "bitcoin", "wallets", "payments", "authors", "images", "owners", "evaluate")
# Ads loads: ads per write batch.
ADS_BATCH = 20_000
# Ads loads: processes parsing records (phones, e-mails, text indicators) while this one
# reads the file and writes the store (0: one per core; 1: all in this process). Records
# come back in file order: the load is the same with any number (docs/results.md).
ADS_PARSE_WORKERS = 2
# ... records per chunk sent to a worker; chunks in flight per worker (bounds memory, and
# lets the workers parse on while a batch is written); files of at most
# ADS_INLINE_RECORDS records are parsed in this process (no pool start-up).
ADS_PARSE_CHUNK = 500
ADS_PARSE_INFLIGHT = 8
ADS_INLINE_RECORDS = 5_000
# Chain and wallet writes: rows per upsert call (0: a whole table; the store batches).
CHAIN_WRITE_BATCH = 0
# CoinJoin (JoinMarket rule): at least this many equal outputs.
COINJOIN_MIN_EQUAL = 3
# Processor discovery: invoice-like inputs a sweep needs to seed the processor set.
SWEEP_MIN_INPUTS = 3
# Payment matching: first-seen time of the tx LO..HI seconds before the ad; relative USD
# tolerance (ordinary / sponsored ads); block-timed txs seen up to this long before.
PAY_WINDOW = (0, 120)
PAY_TOLERANCE = 0.02
PAY_SPONSORED_TOLERANCE = 0.05
PAY_BLOCK_SLACK_S = 1800
# Author linking: nearest neighbours per ad in the candidate search; Leiden CPM resolution.
AUTHOR_NEIGHBOURS = 20
AUTHOR_RESOLUTION = 0.0005
# Authors stage: at most this many held-out labelled pairs (a random sample, class ratio
# kept) measure the ROC figures (AUC, TPR at FPR), so that their scoring and near-duplicate
# check stay the same size at any corpus size; 100k ads give ~490k (no sample). The
# operating point is unaffected: it is measured on held-out CANDIDATE pairs, all of them.
# 500k pairs hold ~45k positives: a TPR's 95% interval is then at most +-0.005.
AUTHOR_HELDOUT_PAIRS = 500_000
