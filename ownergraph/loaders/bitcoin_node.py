"""A Bitcoin node over JSON-RPC: blocks by height, and a crash-safe mempool first-seen log.

Works with Bitcoin Core and btcd (both answer ``getblockhash``, ``getblock <hash> 2``
and ``getrawmempool true``; btcd's block JSON has the pre-v22 ``addresses`` shape, which
the RPC loader reads).

Credentials never appear in output: ``RpcEndpoint`` takes them from the URL's
``user:password@`` part (removed from what is shown), else ``BITCOIN_RPC_USER`` /
``BITCOIN_RPC_PASSWORD``, else a cookie file (``--rpc-cookie`` / ``BITCOIN_RPC_COOKIE``,
Bitcoin Core's ``.cookie``: ``user:password``). ``RpcEndpoint.shown`` is the URL without
them; errors name the method, never the credentials.

``MempoolLog`` is the watcher's log: CSV segments ``mempool-<UTC start>.csv`` in a folder
(``txid,first_seen,local_ts,via``; ``first_seen`` is the node's mempool entry time when
it gives one, else the local arrival time; ``local_ts`` is when this process saw it). It
is append-only: each poll's new lines are written with one ``write`` and ``fsync``ed;
on start it reads every segment, so a restart after ``kill -9`` neither loses nor
repeats a transaction (a torn last line is cut back to the last newline; the
transaction is logged again at the next poll if it is still in the mempool). A segment
rotates when it reaches ``max_bytes``. ``btc load --mempool FOLDER`` reads the segments.
``via`` is ``poll``, or ``zmq-rawtx`` / ``zmq-sequence`` for arrivals a node pushed over
ZMQ (``ownergraph.loaders.bitcoin_zmq``), stamped locally as they came in.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ownergraph import settings
from ownergraph.errors import OwnergraphError
from ownergraph.loaders.bitcoin_batch import Batch
from ownergraph.loaders.bitcoin_rpc import add_rpc_value
from ownergraph.loaders.quarantine import Quarantine

if TYPE_CHECKING:
    from ownergraph.loaders.bitcoin_zmq import ZmqFeed

LOG_HEADER = "txid,first_seen,local_ts,via\n"
DEFAULT_MAX_BYTES = 64 * 2**20
DEFAULT_TIMEOUT_S = 30.0
ZMQ_FLUSH_S = 0.5  # ZMQ arrivals are written (and fsynced) at least this often


class RpcError(OwnergraphError, RuntimeError):
    """A failed RPC call: names the endpoint (without credentials) and the method."""


@dataclass(frozen=True)
class RpcEndpoint:
    url: str  # without credentials
    _auth: str | None  # "user:password", never shown

    @property
    def shown(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RpcEndpoint({self.url!r})"

    @classmethod
    def from_url(cls, url: str, cookie: str | Path | None = None) -> RpcEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the RPC URL must be http(s)://host:port")
        auth = None
        if parts.username is not None:
            auth = f"{parts.username}:{parts.password or ''}"
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        env_user = settings.get("BITCOIN_RPC_USER")
        if auth is None and env_user:
            auth = f"{env_user}:{settings.get('BITCOIN_RPC_PASSWORD') or ''}"
        cookie = cookie or settings.get("BITCOIN_RPC_COOKIE")
        if auth is None and cookie:
            try:
                auth = Path(cookie).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"cannot read the RPC cookie file: {exc.strerror}") from None
        return cls(clean, auth)


class RpcClient:
    """JSON-RPC 1.0 over HTTP (the dialect both Bitcoin Core and btcd speak)."""

    def __init__(self, endpoint: RpcEndpoint, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.endpoint, self.timeout, self._id = endpoint, timeout, 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "1.0", "id": self._id, "method": method, "params": params})
        req = urllib.request.Request(
            self.endpoint.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        if self.endpoint._auth is not None:
            token = base64.b64encode(self.endpoint._auth.encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        where = f"{self.endpoint.shown} {method}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read(), parse_float=Decimal)  # exact BTC amounts
        except urllib.error.HTTPError as exc:
            try:
                reply = json.loads(exc.read())
            except (ValueError, OSError):
                what = "credentials refused" if exc.code == 401 else f"HTTP {exc.code}"
                raise RpcError(f"{where}: {what}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcError(f"{where}: cannot reach the node ({reason})") from None
        if reply.get("error"):
            err = reply["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise RpcError(f"{where}: {msg}")
        return reply.get("result")


CHAIN_NETWORK = {"main": "main", "test": "test", "testnet4": "test", "signet": "signet",
                 "regtest": "regtest", "simnet": "regtest"}  # fmt: skip


def node_network(client: RpcClient) -> str | None:
    """The node's network (``getblockchaininfo``'s ``chain``) as a ``POW_LIMITS`` key;
    None when the node does not say (its blocks then meet the loosest limit)."""
    try:
        info = client.call("getblockchaininfo")
    except RpcError:
        return None
    chain = info.get("chain") if isinstance(info, dict) else None
    return CHAIN_NETWORK.get(chain) if isinstance(chain, str) else None


def iter_node_batches(
    client: RpcClient,
    from_height: int,
    to_height: int,
    q: Quarantine,
    batch_txs: int = 50_000,
    verify_merkle: bool = True,
    network: str | None = None,
) -> Iterator[Batch]:
    """Blocks ``from_height..to_height`` (``getblock <hash> 2``) as loader batches, each
    header and merkle root checked (``bitcoin_rpc.check_json_block``) against the
    proof-of-work limit of ``network`` (default: the node's own)."""
    if from_height < 0 or to_height < from_height:
        raise ValueError(f"bad height range {from_height}..{to_height}")
    network = network or node_network(client)
    batch = Batch()
    source = client.endpoint.shown
    for h in range(from_height, to_height + 1):
        block_hash = client.call("getblockhash", h)
        block = client.call("getblock", block_hash, 2)
        if isinstance(block, dict) and block.get("height") is None:  # not in every shape
            block["height"] = h
        add_rpc_value(batch, block, source, f"height {h}", q, verify_merkle, network)
        if batch.n_txs >= batch_txs:
            yield batch
            batch = Batch()
    yield batch


class MempoolLog:
    """The append-only, rotating, crash-safe first-seen log (see the module docstring)."""

    def __init__(self, folder: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.seen: set[str] = set()
        self._fd: int | None = None
        self._size = 0
        for seg in self.segments():
            self._recover(seg)

    def segments(self) -> list[Path]:
        return sorted(self.folder.glob("mempool-*.csv"))

    def _recover(self, seg: Path) -> None:
        data = seg.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a torn last line (killed mid-write): not a record
            with open(seg, "r+b") as fh:
                fh.truncate(cut)
                os.fsync(fh.fileno())
            data = data[:cut]
        for line in data.decode("utf-8").splitlines()[1:]:
            txid = line.split(",", 1)[0]
            if txid:
                self.seen.add(txid)

    def _open_segment(self) -> None:
        segs = self.segments()
        if segs and segs[-1].stat().st_size < self.max_bytes and self._fd is None:
            path = segs[-1]
        else:
            if self._fd is not None:
                os.close(self._fd)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            path = self.folder / f"mempool-{stamp}-{time.time_ns() % 10**9:09d}.csv"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        if self._size == 0:
            self._write(LOG_HEADER.encode())

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        os.write(self._fd, data)
        os.fsync(self._fd)
        self._size += len(data)

    def append(self, rows: list[tuple[str, int, int, str]]) -> int:
        """Log rows ``(txid, first_seen, local_ts, via)`` not logged before; returns how
        many were new."""
        new, fresh = [], set()
        for r in rows:  # the first row of a txid wins, also within one call
            if r[0] not in self.seen and r[0] not in fresh:
                fresh.add(r[0])
                new.append(r)
        if not new:
            return 0
        if self._fd is None or self._size >= self.max_bytes:
            self._open_segment()
        text = "".join(f"{t},{f},{lt},{v}\n" for t, f, lt, v in new)
        self._write(text.encode())
        self.seen.update(r[0] for r in new)
        return len(new)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def poll_mempool(client: RpcClient, log: MempoolLog, now: Callable[[], float] = time.time) -> int:
    """One ``getrawmempool true`` poll into ``log``; returns the new transactions."""
    pool = client.call("getrawmempool", True)
    local = int(now())
    rows = []
    for txid, entry in (pool or {}).items():
        node_time = entry.get("time") if isinstance(entry, dict) else None
        known = isinstance(node_time, int | float | Decimal) and node_time > 0
        first = int(node_time) if known else local
        rows.append((txid, min(first, local), local, "poll"))
    rows.sort(key=lambda r: (r[1], r[0]))
    return log.append(rows)


def watch_mempool(
    client: RpcClient | None,
    log: MempoolLog,
    interval_s: float = 2.0,
    polls: int | None = None,
    on_poll: Callable[[int, int], None] | None = None,
    feed: ZmqFeed | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Record first-seen times until ``polls`` rounds of ``interval_s`` (forever when
    None) or until ``stop()`` is true; returns the transactions logged.

    Each round polls ``getrawmempool true`` (with ``client``); with a ZMQ ``feed``
    (``bitcoin_zmq.ZmqFeed``) it also logs the pushed arrivals as they come, stamped
    locally, written at least every ``ZMQ_FLUSH_S``, and the poll is the backstop for
    anything ZMQ dropped. ``on_poll(round, new)`` reports progress; a failed poll is
    reported as ``new == -1`` and retried at the next round (the node may restart)."""
    total, n = 0, 0
    while (polls is None or n < polls) and not (stop is not None and stop()):
        n += 1
        new = 0
        if feed is not None:
            end = time.monotonic() + interval_s
            while time.monotonic() < end and not (stop is not None and stop()):
                new += log.append(feed.receive(min(ZMQ_FLUSH_S, end - time.monotonic())))
        if client is not None:
            try:
                new += poll_mempool(client, log)
            except RpcError:
                new = -1
        if new > 0:
            total += new
        if on_poll is not None:
            on_poll(n, new)
        if feed is None and (polls is None or n < polls):
            time.sleep(interval_s)
    return total
