"""``btc watch`` over ZMQ, against a real ZMQ publisher socket.

No Bitcoin Core binary can be installed from the registries this project reaches (btcd,
the node the other node tests run, has no ZMQ), so the publisher here is a real ZMQ XPUB
socket sending Bitcoin Core's documented wire format: topic, body, 4-byte little-endian
sequence number (``rawtx``: the serialized transaction; ``sequence``: hash in display
order + ``A``/``R``/``C``/``D`` [+ 8-byte mempool sequence]). The watcher stamps arrivals
locally and writes the same append-only log as the polling path.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import zmq
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from ownergraph.loaders.bitcoin_mempool import read_first_seen
from ownergraph.loaders.bitcoin_node import MempoolLog, watch_mempool
from ownergraph.loaders.bitcoin_zmq import ZmqFeed, node_zmq_endpoints, parse_message


def raw_tx(i: int, segwit: bool) -> tuple[bytes, str]:
    """A serialized transaction and its txid (embit's, the reference)."""
    vin = TransactionInput(bytes([i]) * 32, i, Script(b""))
    if segwit:
        vin.witness.items = [b"\x30" + bytes(70), b"\x02" + bytes([i]) * 32]
    vout = TransactionOutput(1000 + i, Script(b"\x00\x14" + bytes([i]) * 20))
    tx = Transaction(vin=[vin], vout=[vout])
    return tx.serialize(), tx.txid().hex()


class Publisher:
    """A real XPUB socket on a free loopback port; ``wait_subscribed`` blocks until the
    watcher's subscriptions arrived, so nothing sent after it is lost to a slow join."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.seq: dict[bytes, int] = {}

    def wait_subscribed(self, topics: set[bytes]) -> None:
        got: set[bytes] = set()
        while not topics <= got:
            assert self.sock.poll(20_000), "the watcher never subscribed"
            msg = self.sock.recv()
            if msg[:1] == b"\x01":
                got.add(msg[1:])

    def send(self, topic: bytes, body: bytes, skip: int = 0) -> None:
        n = self.seq.get(topic, -1) + 1 + skip
        self.seq[topic] = n
        self.sock.send_multipart([topic, body, n.to_bytes(4, "little")])

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def run_watcher(feed: ZmqFeed, log: MempoolLog, want: int) -> tuple[threading.Thread, list]:
    done: list[int] = []

    def go() -> None:
        done.append(watch_mempool(None, log, 0.2, feed=feed, stop=lambda: len(log.seen) >= want))

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, done


def test_parse_message_core_wire_format():
    body, txid = raw_tx(1, segwit=True)
    assert parse_message([b"rawtx", body, b"\x07\x00\x00\x00"]) == ("rawtx", 7, txid)
    h = bytes.fromhex(txid)
    added = h + b"A" + (5).to_bytes(8, "little")
    assert parse_message([b"sequence", added, b"\x00\x00\x00\x00"]) == ("sequence", 0, txid)
    assert parse_message([b"sequence", h + b"C", b"\x01\x00\x00\x00"])[2] is None
    for frames, reason in (
        ([b"rawtx", body], "2 frames"),
        ([b"rawtx", body[:-3], b"\x00" * 4], "truncated"),
        ([b"rawtx", body + b"\x00", b"\x00" * 4], "1 bytes after the transaction"),
        ([b"sequence", h + b"X", b"\x00" * 4], "is not hash"),
        ([b"hashblock", h, b"\x00" * 4], "unknown topic"),
    ):
        with pytest.raises(ValueError, match=reason):
            parse_message(frames)


def test_watch_logs_zmq_arrivals_stamped_locally_and_resumes(tmp_path: Path):
    pub = Publisher()
    txs = [raw_tx(i, segwit=i % 2 == 0) for i in range(1, 7)]
    log = MempoolLog(tmp_path / "log")
    feed = ZmqFeed([pub.endpoint])
    try:
        before = int(time.time())
        thread, done = run_watcher(feed, log, want=6)
        pub.wait_subscribed({b"rawtx", b"sequence"})
        for body, _ in txs[:4]:
            pub.send(b"rawtx", body)
        pub.send(b"rawtx", b"\x01\x02garbage", skip=2)  # malformed, and 2 messages lost
        pub.send(b"rawtx", txs[0][0])  # seen again: logged once
        for _, txid in txs[4:]:
            pub.send(b"sequence", bytes.fromhex(txid) + b"A" + (9).to_bytes(8, "little"))
        pub.send(b"sequence", bytes.fromhex(txs[0][1]) + b"R" + (10).to_bytes(8, "little"))
        thread.join(30)
        assert not thread.is_alive()
        after = int(time.time())
    finally:
        feed.close()
        log.close()
        pub.close()
    assert done == [6]
    assert feed.gaps == 2 and sum(feed.rejected.values()) == 1
    assert feed.messages == {"rawtx": 5, "sequence": 3}
    lines = [seg.read_text().splitlines() for seg in sorted((tmp_path / "log").iterdir())]
    rows = [line.split(",") for seg in lines for line in seg[1:]]
    assert [r[0] for r in rows] == [t for _, t in txs]
    assert [r[3] for r in rows] == ["zmq-rawtx"] * 4 + ["zmq-sequence"] * 2
    for _, first, local, _ in rows:
        assert before <= int(first) == int(local) <= after  # stamped here, on arrival
    # restart (as after kill -9): the log is read back, nothing logged twice
    again = MempoolLog(tmp_path / "log")
    assert again.seen == {t for _, t in txs}
    assert again.append([(txs[0][1], 1, 1, "zmq-rawtx")]) == 0
    again.close()
    # btc load --mempool reads it
    seen = read_first_seen([tmp_path / "log"])
    assert set(seen.times.index) == {t for _, t in txs}


def test_btcd_offers_no_zmq_endpoints():
    class NoZmq:
        def call(self, method: str, *params):
            from ownergraph.loaders.bitcoin_node import RpcError

            raise RpcError(f"http://127.0.0.1:1 {method}: Method not found")

    class Core:
        def call(self, method: str, *params):
            return [
                {"type": "pubrawtx", "address": "tcp://127.0.0.1:28332", "hwm": 1000},
                {"type": "pubsequence", "address": "tcp://127.0.0.1:28332", "hwm": 1000},
                {"type": "pubhashblock", "address": "tcp://127.0.0.1:28333", "hwm": 1000},
            ]

    assert node_zmq_endpoints(NoZmq()) == []
    assert node_zmq_endpoints(Core()) == ["tcp://127.0.0.1:28332"]
