"""Live capture and loading from a real node (btcd, regtest): embit-signed transactions
(multi-input spends, change, payments to a processor address), `btc watch` across a
kill -9, `btc load --rpc`, `btc cluster`, `btc link`, credentials never printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from btcd_node import PASSWORD, USER, address, key, p2pkh, sign_p2pkh
from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.loaders.bitcoin import load_bitcoin_node
from ownergraph.loaders.bitcoin_mempool import read_first_seen
from ownergraph.loaders.bitcoin_node import MempoolLog, RpcClient, RpcEndpoint, RpcError
from ownergraph.store.embedded import EmbeddedStore

FEE = 10_000
RATE = 500.0  # USD per BTC in the rates file
PRICE_SAT = round(12.0 / RATE * 1e8)  # a CA escorts post costs 12 USD (built-in table)


@pytest.fixture(scope="module")
def chain(btcd):
    """Blocks 1..103 mined to the miner key (coinbases of 1..3 mature)."""
    if btcd.call("getblockcount") < 103:
        btcd.mine(103 - btcd.call("getblockcount"))
    return btcd


def env() -> dict[str, str]:
    return {**os.environ, "BITCOIN_RPC_USER": USER, "BITCOIN_RPC_PASSWORD": PASSWORD}


def watch(node, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "ownergraph.cli", "btc", "watch", "--rpc", node.url,
            "--out", str(out), "--interval", "0.2", *extra]  # fmt: skip
    return subprocess.Popen(args, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def logged(out: Path) -> list[str]:
    lines = []
    for seg in sorted(out.glob("mempool-*.csv")):
        lines += [ln.split(",")[0] for ln in seg.read_text().splitlines()[1:]]
    return lines


def wait_for(pred, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_watch_survives_kill_9_and_rotates_then_load_cluster_link(chain, tmp_path: Path):
    node = chain
    miner, proc_a, proc_b = node.miner, key("processor-a"), key("processor-b")
    change_a, change_b = key("change-a"), key("change-b")
    (cb1, v1), (cb2, v2), (cb3, v3) = (node.coinbase(h) for h in (1, 2, 3))
    # tx_a: two inputs from one address (the multiset case), a processor payment and change
    tx_a = sign_p2pkh(
        [(cb1, 0, miner), (cb2, 0, miner)],
        [(p2pkh(proc_a), PRICE_SAT), (p2pkh(change_a), v1 + v2 - PRICE_SAT - FEE)],
    )
    txid_a = node.call("sendrawtransaction", tx_a)
    out = tmp_path / "log"
    w = watch(node, out, "--max-mb", "0.0001")  # ~100 bytes: a new segment every poll
    wait_for(lambda: txid_a in logged(out), "tx_a in the log")
    w.send_signal(signal.SIGKILL)
    w.wait()
    # while the watcher is down: tx_b (spends coinbase 3 and tx_a's change)
    tx_b = sign_p2pkh(
        [(cb3, 0, miner), (txid_a, 1, change_a)],
        [(p2pkh(proc_b), 2 * PRICE_SAT), (p2pkh(change_b), v3 + v1 + v2 - 3 * PRICE_SAT - 2 * FEE)],
    )
    txid_b = node.call("sendrawtransaction", tx_b)
    w = watch(node, out, "--max-mb", "0.0001", "--polls", "3")
    stdout, stderr = w.communicate(timeout=60)
    assert w.returncode == 0, stderr.decode()
    text = stdout.decode() + stderr.decode()
    assert PASSWORD not in text and "1 transactions already logged" in " ".join(text.split())
    ids = logged(out)
    assert sorted(ids) == sorted([txid_a, txid_b])  # nothing lost, nothing twice
    assert len(list(out.glob("mempool-*.csv"))) >= 2  # rotated
    seen = read_first_seen([out]).times
    assert set(seen.index) == {txid_a, txid_b}
    node.mine(1)
    tip = node.call("getblockcount")

    # load the whole chain from the node, with the first-seen log and the processor set
    store = str(tmp_path / "g.lbug")
    runner = CliRunner()
    procs = tmp_path / "processors.txt"
    procs.write_text(f"{address(proc_a)}\n{address(proc_b)}\n")
    args = ["btc", "load", "--rpc", node.url, "--from-height", "1", "--to-height", str(tip),
            "--mempool", str(out), "--processors", str(procs), "--store", store]  # fmt: skip
    res = runner.invoke(app, args, env={"BITCOIN_RPC_USER": USER, "BITCOIN_RPC_PASSWORD": PASSWORD})
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    res_load = res.output
    # btcd's JSON headers and merkle roots are checked like raw blocks (against the
    # node's own chain, regtest), none skipped
    sm = load_bitcoin_node(node.client, 1, tip).summary
    assert (sm.headers_checked, sm.merkle_checked, sm.blocks_quarantined) == (tip, tip, 0)
    assert sm.header_skips == sm.merkle_skips == {}
    res = runner.invoke(app, ["btc", "cluster", "--change", "--store", store])
    assert res.exit_code == 0, res.output
    with EmbeddedStore(tmp_path / "g.lbug") as s:
        n = s.query("MATCH (t:Tx) RETURN count(*) AS n")[0]["n"]
        assert n == tip + 2, res_load  # one coinbase per block, tx_a and tx_b
        seen_a = s.query("MATCH (t:Tx {txid: $t}) RETURN t.first_seen_ts AS f, t.block_ts AS b",
                         {"t": txid_a})[0]  # fmt: skip
        assert seen_a["f"] == int(seen[txid_a]) and seen_a["f"] <= seen_a["b"]
        wallet = {
            r["a"]: r["w"]
            for r in s.query(
                "MATCH (a:Address)-[e:IN_WALLET]->(w:Wallet) RETURN a.address AS a, w.id AS w"
            )  # fmt: skip
        }
    # multi-input: miner and change_a (tx_b spends both); change_b by the change rule (the
    # processor outputs are not change), change_a by it too
    assert wallet[address(miner)] == wallet[address(change_a)] == wallet[address(change_b)]
    assert wallet.get(address(proc_a)) != wallet[address(miner)]

    # link: two ads, each posted a minute after its payment was first seen (ad-b in two
    # places: 24 USD, paid by tx_b's 2 x 12 USD)
    ads = tmp_path / "ads.jsonl"
    rows = [
        {"id": f"ad-{name}", "title": "t", "body": "b", "posted_ts": int(seen[t]) + 60,
         "state": "CA", "category": "escorts", "post_kind": "post", "sponsored": False,
         "n_locations": n}
        for name, t, n in (("a", txid_a, 1), ("b", txid_b, 2))
    ]  # fmt: skip
    ads.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = runner.invoke(app, ["load", "ads", str(ads), "--store", store])
    assert res.exit_code == 0, res.output
    rates = tmp_path / "rates.csv"
    rates.write_text(f"time,usd_per_btc\n0,{RATE}\n4000000000,{RATE}\n")
    res = runner.invoke(app, ["btc", "link", "--processors", str(procs), "--rates", str(rates),
                              "--store", store])  # fmt: skip
    assert res.exit_code == 0, res.output
    with EmbeddedStore(tmp_path / "g.lbug") as s:
        links = s.query("MATCH (t:Tx)-[:PAID_FOR]->(a:Ad) RETURN t.txid AS tx, a.id AS ad "
                        "ORDER BY ad")  # fmt: skip
    assert links == [{"tx": txid_a, "ad": "ad-a"}, {"tx": txid_b, "ad": "ad-b"}]


def test_credentials_come_from_env_or_cookie_and_are_never_printed(btcd, tmp_path: Path):
    runner = CliRunner()
    store = str(tmp_path / "g.lbug")
    bad = {"BITCOIN_RPC_USER": USER, "BITCOIN_RPC_PASSWORD": "wrong-pass-xyz"}
    args = ["btc", "load", "--rpc", btcd.url, "--from-height", "0", "--store", store]
    res = runner.invoke(app, args, env=bad)
    assert res.exit_code == 1 and "credentials refused" in res.output
    assert "wrong-pass-xyz" not in res.output
    cookie = tmp_path / ".cookie"
    cookie.write_text(f"{USER}:{PASSWORD}")
    client = RpcClient(RpcEndpoint.from_url(btcd.url, cookie))
    assert client.call("getblockcount") >= 0
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{btcd.rpc_port}"
    ep = RpcEndpoint.from_url(url)
    assert PASSWORD not in ep.shown and PASSWORD not in repr(ep)
    with pytest.raises(RpcError) as exc:
        RpcClient(ep).call("nosuchmethod")
    assert PASSWORD not in str(exc.value) and "nosuchmethod" in str(exc.value)


def test_torn_last_line_is_cut_and_not_counted(tmp_path: Path):
    log = MempoolLog(tmp_path)
    a, b = "a" * 64, "b" * 64
    assert log.append([(a, 1_700_000_000, 1_700_000_001, "poll")]) == 1
    log.close()
    seg = next(tmp_path.glob("mempool-*.csv"))
    with open(seg, "ab") as fh:
        fh.write(b"bbbb")  # killed mid-line
    log = MempoolLog(tmp_path)
    assert log.seen == {a}
    assert seg.read_bytes().endswith(b"\n")
    assert log.append([(a, 1, 2, "poll"), (b, 1_700_000_005, 1_700_000_006, "poll")]) == 1
    log.close()
    assert set(read_first_seen([tmp_path]).times.index) == {a, b}
