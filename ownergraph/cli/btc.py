"""`ownergraph btc ...`: load, watch, cluster, tag and link Bitcoin data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from ownergraph import defaults
from ownergraph.cli import StoreOpt, _audited, _open, app, console, err
from ownergraph.defaults import BTC_PARSE_WORKERS
from ownergraph.errors import CommandError, UsageError, reported_as

if TYPE_CHECKING:
    pass


# ---- section: btc ----
btc_app = typer.Typer(
    help="Bitcoin: load chain data, cluster addresses into wallets, link payments to ads.",
    no_args_is_help=True,
)
app.add_typer(btc_app, name="btc")


RpcOpt = typer.Option(
    None,
    "--rpc",
    help="Node JSON-RPC URL, http://host:port (credentials from BITCOIN_RPC_USER / "
    "BITCOIN_RPC_PASSWORD or the cookie file; never printed).",
)
CookieOpt = typer.Option(
    None, "--rpc-cookie", envvar="BITCOIN_RPC_COOKIE", help="The node's .cookie file."
)


def _rpc_client(url: str, cookie: str | None):
    from ownergraph.loaders.bitcoin_node import RpcClient, RpcEndpoint

    with reported_as(UsageError, ValueError):
        return RpcClient(RpcEndpoint.from_url(url, cookie))


def _advance(bar: Any, task: Any) -> Any:
    """A stage Progress ``(name, done, total)`` that advances one rich bar over several
    tables (each reports its own running ``done``)."""
    last: dict[str, int] = {}

    def progress(name: str, done: int, _total: int | None) -> None:
        bar.advance(task, done - last.get(name, 0))
        last[name] = done

    return progress


# BitcoinSummary field -> the label `btc load` prints ("<label> written")
_WRITTEN = {"txs": "Tx", "addresses": "Address", "spent_in": "SPENT_IN", "pays": "PAYS"}


@btc_app.command("load")
def btc_load_cmd(
    ctx: typer.Context,
    paths: list[str] | None = typer.Argument(
        None, help="getblock/getrawtransaction JSON, raw block (binary or hex) or blk*.dat."
    ),
    store: str | None = StoreOpt,
    fmt: str = typer.Option("auto", "--format", help="auto | rpc | raw | blk."),
    mempool: list[str] | None = typer.Option(
        None,
        "--mempool",
        help="First-seen log: CSV txid,first_seen or getrawmempool true JSON; repeatable.",
    ),
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="BTC/USD CSV time,usd_per_btc: validated and, for an embedded "
        "store, kept beside it for `btc link`.",
    ),
    processors: str | None = typer.Option(
        None, "--processors", help="Payment-processor addresses, one per line."
    ),
    quarantine: str = typer.Option("quarantine/bitcoin.jsonl", help="Where rejected records go."),
    strict: bool = typer.Option(False, help="Stop at the first bad record."),
    verify_merkle: bool = typer.Option(
        True, help="Check each block's merkle root (reject corrupt blocks)."
    ),
    network: str | None = typer.Option(
        None,
        help="main | test | signet | regtest: the proof-of-work limit block headers must meet "
        "(default: from the blk magic, or the node's chain with --rpc; else any network's).",
    ),
    batch_size: int = typer.Option(
        defaults.CHAIN_WRITE_BATCH,
        help="Rows per write call (0: whole tables; the store batches its writes).",
    ),
    coinjoin_min: int = typer.Option(
        defaults.COINJOIN_MIN_EQUAL,
        help="JoinMarket rule: a CoinJoin has at least this many equal outputs.",
    ),
    workers: int = typer.Option(
        BTC_PARSE_WORKERS, help="Processes parsing a blk file's blocks (0: one per core)."
    ),
    rpc: str | None = RpcOpt,
    rpc_cookie: str | None = CookieOpt,
    from_height: int | None = typer.Option(None, help="--rpc: first block height."),
    to_height: int | None = typer.Option(None, help="--rpc: last block height (default: tip)."),
) -> None:
    """Load Bitcoin blocks/transactions (and mempool first-seen times) into the graph:
    from files, or from a node (--rpc, --from-height, --to-height)."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn

    from ownergraph.loaders.bitcoin import (
        BitcoinFormatError,
        load_bitcoin,
        load_bitcoin_node,
        read_processors,
    )
    from ownergraph.loaders.bitcoin_node import RpcError
    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.stages.bitcoin import write_bitcoin
    from ownergraph.store.base import StoreError

    if bool(paths) == bool(rpc):
        raise UsageError("give chain files or --rpc URL (with --from-height)")
    client = _rpc_client(rpc, rpc_cookie) if rpc else None
    if client is not None and from_height is None:
        raise UsageError("--rpc needs --from-height")
    with reported_as(CommandError, RpcError):
        if client is not None and to_height is None:
            to_height = int(client.call("getblockcount"))
    with reported_as(UsageError, RateError, BitcoinFormatError, OSError):
        rate_table = RateTable.from_csv(rates) if rates else None
        procs = read_processors(processors) if processors else None
    cols = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"))
    with _open(store, create=True) as s, Quarantine(Path(quarantine), strict=strict) as q:
        s.init_schema()
        with (
            _audited(ctx, s, "bitcoin") as record,
            reported_as(CommandError, InputError, ValueError, OSError, StoreError, RpcError),
        ):
            with Progress(*cols, console=err, transient=True) as bar:
                task = bar.add_task("parsing transactions", total=None)
                if client is not None:
                    tables = load_bitcoin_node(
                        client,
                        from_height,  # type: ignore[arg-type]
                        to_height,  # type: ignore[arg-type]
                        mempool=mempool or (),
                        quarantine=q,
                        progress=lambda b: bar.advance(task, b.n_txs),
                        verify_merkle=verify_merkle,
                        network=network,
                    )
                else:
                    tables = load_bitcoin(
                        paths or [],
                        fmt=fmt,
                        mempool=mempool or (),
                        quarantine=q,
                        verify_merkle=verify_merkle,
                        progress=lambda b: bar.advance(task, b.n_txs),
                        network=network,
                        workers=workers,
                    )
                n_rows = len(tables.txs) + len(tables.inputs) + 2 * len(tables.outputs)
                wtask = bar.add_task("writing to the graph", total=n_rows)
                written = write_bitcoin(
                    s,
                    tables,
                    batch_size,
                    procs,
                    progress=_advance(bar, wtask),
                    coinjoin_min_equal=coinjoin_min,
                )
            record(written.counts())
        uri = s.uri
    sm = tables.summary
    t = Table("", "count", title="btc load")
    for label, value in (
        ("files", sm.files),
        (
            "blocks read / loaded / quarantined",
            f"{sm.blocks_read:,} / {sm.blocks_loaded:,} / {sm.blocks_quarantined:,}",
        ),
        (
            "transactions read / loaded / duplicate / quarantined",
            f"{sm.txs_read:,} / {sm.txs_loaded:,} / {sm.txs_duplicate:,} / {sm.txs_quarantined:,}",
        ),
        ("other rejected values", f"{sm.values_rejected:,}"),
        (
            "inputs: from spent output / from script / unresolved",
            f"{sm.inputs_from_prevout:,} / {sm.inputs_from_script:,} / {sm.inputs_unresolved:,}",
        ),
        ("outputs (without address)", f"{sm.outputs:,} ({sm.outputs_without_address:,})"),
        *sm.header_lines(),
        ("multi-input transactions", f"{sm.multi_input_txs:,}"),
        (
            "mempool rows / quarantined / earlier than block",
            f"{sm.mempool_rows:,} / {sm.mempool_quarantined:,} / {sm.first_seen_from_mempool:,}",
        ),
        *((f"{_WRITTEN[k]} written", f"{v:,}") for k, v in written.counts().items()),
    ):
        t.add_row(label, str(value))
    console.print(t)
    if rate_table is not None:
        side = sidecar_path(uri)
        if side is not None:
            rate_table.to_parquet(side)
            console.print(f"{len(rate_table.times):,} BTC/USD rates kept in [bold]{side}[/bold]")
        else:
            console.print("rates are valid; with Neo4j pass --rates again to `btc link`")
    if q.count:
        console.print(f"{q.count:,} rejected records are in [bold]{quarantine}[/bold]")
        for source, where, reason in q.rejected[:20]:
            err.print(f"  {source}:{where}: {reason}", markup=False, highlight=False)
        if q.count > 20:
            err.print(f"  ... and {q.count - 20:,} more (all with their reasons in the file)")
    if sm.files_empty:
        raise CommandError(
            "; ".join(f"{f}: no transaction loaded from this file" for f in sm.files_empty)
        )
    if client is not None and not sm.txs_loaded:
        raise CommandError(f"no transaction loaded from {client.endpoint.shown}")


@btc_app.command("watch")
def btc_watch_cmd(
    rpc: str | None = RpcOpt,
    out: str = typer.Option(
        "mempool-log", "--out", help="Folder of the log (btc load --mempool reads it)."
    ),
    interval: float = typer.Option(2.0, help="Seconds between getrawmempool polls."),
    polls: int | None = typer.Option(None, help="Stop after this many polls (default: never)."),
    max_mb: float = typer.Option(64.0, help="Start a new log segment past this size."),
    rpc_cookie: str | None = CookieOpt,
    zmq: list[str] | None = typer.Option(
        None,
        "--zmq",
        help="ZMQ endpoint publishing rawtx/sequence (repeatable); default: the node's own "
        "(getzmqnotifications); 'off': poll only.",
    ),
) -> None:
    """Record mempool first-seen times from a node (append-only, crash-safe, rotating):
    ZMQ rawtx/sequence arrivals stamped locally where the node offers them, and
    getrawmempool polls."""
    from ownergraph.loaders.bitcoin_node import MempoolLog, watch_mempool
    from ownergraph.loaders.bitcoin_zmq import ZmqFeed, node_zmq_endpoints

    if not rpc and not zmq:
        raise UsageError("give --rpc URL (and/or --zmq ENDPOINT)")
    client = _rpc_client(rpc, rpc_cookie) if rpc else None
    endpoints = [] if zmq == ["off"] else list(zmq or [])
    if client is not None and zmq is None:
        endpoints = node_zmq_endpoints(client)
    feed = ZmqFeed(endpoints) if endpoints else None
    log = MempoolLog(out, max_bytes=int(max_mb * 2**20))
    how = [f"polling {client.endpoint.shown} every {interval:g} s"] if client else []
    if feed is not None:
        how.append("ZMQ " + ", ".join(endpoints))
    console.print(
        f"watching ({'; '.join(how)}) into [bold]{out}[/bold] "
        f"({len(log.seen):,} transactions already logged)"
    )

    def report(n: int, new: int) -> None:
        if new < 0:
            err.print(f"poll {n}: the node did not answer; retrying")
        elif new:
            console.print(f"poll {n}: {new:,} new transactions")

    try:
        total = watch_mempool(client, log, interval, polls, on_poll=report, feed=feed)
    except KeyboardInterrupt:
        total = None
    finally:
        log.close()
        if feed is not None:
            feed.close()
    if total is not None:
        console.print(f"{total:,} new transactions logged")
    if feed is not None and (feed.gaps or feed.rejected):
        err.print(
            f"ZMQ: {feed.gaps:,} messages lost (sequence gaps), "
            f"{sum(feed.rejected.values()):,} malformed"
        )


@btc_app.command("cluster")
def btc_cluster_cmd(
    ctx: typer.Context,
    store: str | None = StoreOpt,
    change: bool = typer.Option(
        False, "--change/--no-change", help="Also use the one-time change-address heuristic."
    ),
    coinjoin_guard: bool = typer.Option(
        True,
        help="Never merge the inputs of a CoinJoin (flagged at `btc load`); "
        "--no-coinjoin-guard only to measure what the guard prevents.",
    ),
    same_type: bool = typer.Option(True, help="Change must have the address type of the inputs."),
    round_sat: int | None = typer.Option(
        None, help="Change must be the only non-multiple of this many sat (off by default)."
    ),
    batch_size: int = typer.Option(
        defaults.CHAIN_WRITE_BATCH, help="Rows per write call (0: whole tables)."
    ),
) -> None:
    """Cluster addresses into wallets (multi-input, optional change) and write them."""
    from ownergraph.linking.wallets import WalletClusterer
    from ownergraph.stages.bitcoin import cluster_wallets
    from ownergraph.store.base import StoreError

    clusterer = WalletClusterer(
        change_heuristic=change,
        change_same_type=same_type,
        change_round_sat=round_sat,
        coinjoin_guard=coinjoin_guard,
    )
    with _open(store) as s, _audited(ctx, s, "wallets") as record:
        with reported_as(CommandError, ValueError, StoreError):
            with console.status("clustering wallets"):
                counts = cluster_wallets(s, clusterer, batch_size)
        record(counts.to_dict())
    t = Table("", "count", title="btc cluster" + (" (with change)" if change else ""))
    for k, v in counts.to_dict().items():
        t.add_row(WALLET_LABELS[k], f"{v:,}")
    console.print(t)


WALLET_LABELS = {  # WalletsSummary field -> the label `btc cluster` prints
    "addresses": "addresses",
    "processor_addresses": "processor addresses",
    "wallets": "wallets (all)",
    "wallets_several": "wallets with >1 address",
    "largest_wallet": "largest wallet",
    "multi_input_links": "multi-input links",
    "change_links": "change links",
    "coinjoin_txs": "coinjoin txs",
    "coinjoin_merged": "coinjoin txs merged (guard off)",
    "wallet_nodes_written": "Wallet nodes written",
    "in_wallet_written": "IN_WALLET edges written",
}


@btc_app.command("tags")
def btc_tags_cmd(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ..., help="GraphSense TagPack YAML, or CSV address,label,category,source,confidence."
    ),
    store: str | None = StoreOpt,
    quarantine: str = typer.Option("quarantine/tags.jsonl", help="Where rejected tags go."),
) -> None:
    """Load service tags (exchanges, wallet services, processors) onto addresses."""
    from pathlib import Path

    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.loaders.tags import read_tags
    from ownergraph.stages.service_tags import write_tags
    from ownergraph.store.base import StoreError

    with Quarantine(Path(quarantine)) as q:
        with reported_as(UsageError, InputError):
            tags = read_tags(list(paths), q)
        with _open(store, create=True) as s:
            s.init_schema()
            with _audited(ctx, s, "tags") as record, reported_as(CommandError, StoreError):
                written = write_tags(s, tags)
                record(written)
    t = Table("", "count", title="btc tags")
    t.add_row("tags read / loaded / quarantined", f"{len(tags) + q.count:,} / {len(tags):,} / "
              f"{q.count:,}")  # fmt: skip
    for k, v in written.items():
        t.add_row(f"{k} written", f"{v:,}")
    console.print(t)
    for source, where, reason in q.rejected[:20]:
        err.print(f"  quarantined {source}:{where}: {reason}", markup=False, highlight=False)


@btc_app.command("link")
def btc_link_cmd(
    ctx: typer.Context,
    store: str | None = StoreOpt,
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="BTC/USD CSV time,usd_per_btc (default: the rates `btc load --rates` kept "
        "beside an embedded store).",
    ),
    processors: str | None = typer.Option(
        None, "--processors", help="Payment-processor addresses, one per line."
    ),
    discover: bool = typer.Option(
        False, "--discover", help="Discover processor addresses with the sweep heuristic."
    ),
    min_sweep_inputs: int = typer.Option(
        defaults.SWEEP_MIN_INPUTS,
        help="--discover: inputs of a sweep that seeds the processor set.",
    ),
    window: str = typer.Option(
        "{}:{}".format(*defaults.PAY_WINDOW),
        help="LO:HI seconds: first-seen time of the tx, this long before the ad.",
    ),
    tolerance: float = typer.Option(
        defaults.PAY_TOLERANCE, help="Relative USD tolerance for ordinary ads."
    ),
    sponsored_tolerance: float = typer.Option(
        defaults.PAY_SPONSORED_TOLERANCE, help="Relative USD tolerance, sponsored."
    ),
    rounding_sat: int | None = typer.Option(
        None, help="Processors round invoices up to a multiple of this many satoshi."
    ),
    block_slack: int = typer.Option(
        defaults.PAY_BLOCK_SLACK_S,
        help="Seconds: a tx the mempool log missed (first-seen = its block time) was first "
        "seen up to this long before its block (links marked /block-time, fit halved).",
    ),
    prices: str | None = typer.Option(
        None, "--prices", help="Price table JSON (default: the built-in table)."
    ),
    rate_method: str = typer.Option("linear", help="linear | previous (rate at first-seen)."),
    one_to_one: bool = typer.Option(
        False, "--one-to-one", help="Keep at most one tx per ad and one ad per tx."
    ),
    resolve: str = typer.Option("greedy", help="--one-to-one method: greedy | optimal."),
    min_margin: float = typer.Option(
        0.0, help="--one-to-one: keep a pick only if its fit beats its rivals' by more."
    ),
    max_coincidence: float | None = typer.Option(
        None,
        help="Most estimated share of chance matches among definite links (ambiguous = "
        "false; default 0.003, measured on the data at hand); 1: every lone candidate.",
    ),
) -> None:
    """Link ads to the Bitcoin transactions that paid for them (PAID_FOR, replaced)."""
    from ownergraph.linking.payments import PaymentInputError
    from ownergraph.linking.prices import PriceTable
    from ownergraph.loaders.bitcoin import BitcoinFormatError, read_processors
    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.stages.payments import LinkConfig, link_payments
    from ownergraph.store.base import StoreError

    if processors and discover:
        raise UsageError("give --processors or --discover, not both")
    with reported_as(UsageError, ValueError, OSError, BitcoinFormatError):
        lo, sep, hi = window.partition(":")
        if not sep:
            raise ValueError(f"--window {window!r} is not LO:HI")
        cfg = LinkConfig(
            window=(int(lo), int(hi)),
            tolerance=tolerance,
            sponsored_tolerance=sponsored_tolerance,
            rounding_sat=rounding_sat,
            block_slack_s=block_slack,
            rate_method=rate_method,  # type: ignore[arg-type]
            one_to_one=resolve if one_to_one else None,  # type: ignore[arg-type]
            min_margin=min_margin,
            **({} if max_coincidence is None else {"max_coincidence": max_coincidence}),
            processors=read_processors(processors) if processors else None,
            discover=discover,
            discover_options={"min_inputs": min_sweep_inputs},
        )
        table = PriceTable.from_json(prices) if prices else None
        side = sidecar_path(store)
        if rates:
            rate_table = RateTable.from_csv(rates, rate_method)  # type: ignore[arg-type]
        elif side is not None and side.exists():
            rate_table = RateTable.from_parquet(side, rate_method)  # type: ignore[arg-type]
        else:
            raise RateError("no BTC/USD rates: give --rates FILE")
    with _open(store) as s, _audited(ctx, s, "payments") as record:
        with reported_as(CommandError, PaymentInputError, RateError, ValueError, StoreError):
            with console.status("linking payments") as status:
                summary = link_payments(
                    s, rate_table, table, cfg, progress=lambda m, _d, _t: status.update(m)
                )
        record(summary.to_dict())
    t = Table("", "count", title=f"btc link (window {cfg.window[0]}..{cfg.window[1]} s)")
    labels = PAYMENT_LABELS | {
        "one_to_one_dropped": f"links dropped by one-to-one ({summary.one_to_one})"
    }
    for k, v in summary.to_dict().items():
        if k in labels and v is not None:
            t.add_row(labels[k], f"{v:,}")
    console.print(t)


PAYMENT_LABELS = {  # PaymentsSummary field -> the label `btc link` prints
    "processors_discovered": "processor addresses discovered",
    "processors_given": "processor addresses in the set",
    "processors_in_graph": "processor addresses in graph",
    "processor_flags_set": "processor flags set",
    "processor_flags_cleared": "processor flags cleared",
    "ads_untimed": "ads without a posting time (cannot be matched)",
    "payments_internal": "processor-paying txs spending from a processor (left out)",
    "ads": "ads considered",
    "payments": "payments considered",
    "window_pairs": "pairs in time window",
    "links": "candidate pairs (links)",
    "linked_ads": "linked ads",
    "ambiguous_ads": "ambiguous ads",
    "ambiguous_links": "ambiguous links",
    "definite_links": "definite links (the only candidate, not likely chance)",
    "lone_ambiguous": "lone candidates left ambiguous (likely chance or block-timed)",
    "definite_expected_wrong": "estimated wrong among definite links",
    "payments_with_payer": "payments with a known payer (wallet or input address)",
    "block_timed_links": "block-timed links (tx missing from the mempool log)",
    "paid_for_written": "PAID_FOR written",
    "linked_ads_written": "linked ads (written)",
}
