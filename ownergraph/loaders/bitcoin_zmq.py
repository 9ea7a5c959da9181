"""Mempool arrivals pushed by a node over ZMQ (Bitcoin Core's ``rawtx`` and ``sequence``).

Bitcoin Core publishes, when started with ``-zmqpubrawtx`` / ``-zmqpubsequence``, one
three-part message per event: the topic, the body, and a 4-byte little-endian sequence
number counted per topic (a gap means messages were lost). Bodies:

- ``rawtx``: the serialized transaction (SegWit included); its txid is the hash of the
  stripped serialization (``bitcoin_fastparse.read_transactions``);
- ``sequence``: a 32-byte hash in display byte order, a label byte and, for ``A`` (added
  to the mempool) and ``R`` (removed), an 8-byte little-endian mempool sequence. Only
  ``A`` is an arrival; ``R``/``C``/``D`` are counted and skipped.

``ZmqFeed`` subscribes to the given endpoints and stamps each arrival with the local
clock when it is received (the first-seen time the method needs); rows go to the same
append-only ``bitcoin_node.MempoolLog`` as the polling path. ``node_zmq_endpoints`` asks
the node which endpoints it publishes (``getzmqnotifications``; btcd has no ZMQ and
answers with an error, so the watcher polls only). A malformed message is counted in
``rejected`` with its reason, never raised.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import zmq

from ownergraph.loaders.bitcoin_fastparse import read_transactions

TOPICS = ("rawtx", "sequence")
NODE_TYPES = {"pubrawtx": "rawtx", "pubsequence": "sequence"}


def txid_of_raw(body: bytes) -> str:
    """The txid of a serialized transaction; ValueError if it is not exactly one."""
    cols, end, _ = read_transactions(body, 0, 1)
    if end != len(body):
        raise ValueError(f"{len(body) - end} bytes after the transaction")
    return cols.txid[0]


def parse_message(frames: list[bytes]) -> tuple[str, int, str | None]:
    """``(topic, sequence number, txid of an arrival or None)`` of one ZMQ message;
    ValueError naming what is wrong."""
    if len(frames) != 3 or len(frames[2]) != 4:
        raise ValueError(f"{len(frames)} frames, not topic, body and a 4-byte sequence")
    topic = frames[0].decode("ascii", "replace")
    body, seq = frames[1], int.from_bytes(frames[2], "little")
    if topic == "rawtx":
        return topic, seq, txid_of_raw(body)
    if topic == "sequence":
        if len(body) not in (33, 41) or chr(body[32]) not in "ARCD":
            raise ValueError(f"sequence body of {len(body)} bytes is not hash + A/R/C/D")
        return topic, seq, body[:32].hex() if body[32:33] == b"A" else None
    raise ValueError(f"unknown topic {topic!r}")


def node_zmq_endpoints(client: Any) -> list[str]:
    """The ZMQ endpoints a node publishes ``rawtx``/``sequence`` on (empty when it has
    none, or no ZMQ at all, as btcd)."""
    from ownergraph.loaders.bitcoin_node import RpcError

    try:
        rows = client.call("getzmqnotifications")
    except RpcError:
        return []
    out: list[str] = []
    for r in rows or []:
        if isinstance(r, dict) and r.get("type") in NODE_TYPES and r.get("address"):
            if r["address"] not in out:
                out.append(r["address"])
    return out


class ZmqFeed:
    """A SUB socket on ``endpoints``, subscribed to ``rawtx`` and ``sequence``."""

    def __init__(
        self,
        endpoints: Iterable[str],
        clock: Callable[[], float] = time.time,
        context: zmq.Context | None = None,
    ) -> None:
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("no ZMQ endpoint given")
        self.clock = clock
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.RCVHWM, 0)  # never drop on our side
        for t in TOPICS:
            self._sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        for e in self.endpoints:
            self._sock.connect(e)
        self.messages: Counter[str] = Counter()  # per topic
        self.gaps = 0  # messages the node numbered but we never received
        self.rejected: Counter[str] = Counter()  # reason -> messages
        self._last: dict[str, int] = {}

    def receive(self, seconds: float) -> list[tuple[str, int, int, str]]:
        """Arrivals received within ``seconds``: log rows ``(txid, first_seen, local_ts,
        via)``, stamped with the local clock as each message came in."""
        rows: list[tuple[str, int, int, str]] = []
        deadline = time.monotonic() + max(seconds, 0.0)
        while True:
            wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not self._sock.poll(wait_ms):
                return rows
            while True:
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                local = int(self.clock())
                if len(frames) == 3 and len(frames[2]) == 4:  # numbered, even if malformed
                    topic, seq = frames[0].decode("ascii", "replace"), frames[2]
                    last = self._last.get(topic)
                    if last is not None:
                        self.gaps += (int.from_bytes(seq, "little") - last - 1) % 2**32
                    self._last[topic] = int.from_bytes(seq, "little")
                try:
                    topic, _, txid = parse_message(frames)
                except ValueError as exc:
                    self.rejected[str(exc)] += 1
                    continue
                self.messages[topic] += 1
                if txid is not None:
                    rows.append((txid, local, local, f"zmq-{topic}"))
            if time.monotonic() >= deadline:
                return rows

    def close(self) -> None:
        self._sock.close(0)
