"""`ownergraph btc load` and `ownergraph btc cluster` on an embedded store."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.loaders.rates import RateTable
from ownergraph.store.base import open_store

A, B, P = "1A" + "a" * 32, "1B" + "b" * 32, "1P" + "p" * 32
TX = [f"{i:064x}" for i in range(1, 6)]


def vout(n: int, value: str, address: str) -> str:
    return (
        f'{{"n":{n},"value":{value},"scriptPubKey":{{"type":"pubkeyhash","address":"{address}"}}}}'
    )


def chain_jsonl() -> str:
    fund = (
        f'{{"txid":"{TX[0]}","vin":[{{"coinbase":"00"}}],'
        f'"vout":[{vout(0, "0.5", A)},{vout(1, "0.25", B)}]}}'
    )
    pay = (
        f'{{"txid":"{TX[1]}","vin":[{{"txid":"{TX[0]}","vout":0}},{{"txid":"{TX[0]}","vout":1}}],'
        f'"vout":[{vout(0, "0.74990000", P)}]}}'
    )
    block = f'{{"hash":"{"0" * 64}","height":1,"time":1464300000,"tx":[{fund},{pay}]}}'
    return block + "\n" + '{"height": 2, "tx": "oops"}\n'


def test_btc_load_and_cluster(tmp_path):
    chain = tmp_path / "blocks.jsonl"
    chain.write_text(chain_jsonl())
    rates = tmp_path / "rates.csv"
    rates.write_text("time,usd_per_btc\n1464290000,450\n1464310000,460\n")
    procs = tmp_path / "procs.txt"
    procs.write_text(f"# processor\n{P}\n")
    mempool = tmp_path / "m.csv"
    mempool.write_text(f"txid,first_seen\n{TX[1]},1464299940\n")
    store = str(tmp_path / "g.lbug")
    quarantine = tmp_path / "q.jsonl"
    runner = CliRunner()
    args = ["btc", "load", str(chain), "--store", store, "--rates", str(rates)]
    args += ["--processors", str(procs), "--mempool", str(mempool)]
    res = runner.invoke(app, [*args, "--quarantine", str(quarantine)])
    assert res.exit_code == 0, res.output
    assert "2 / 1 / 1" in res.output  # blocks read / loaded / quarantined
    assert json.loads(quarantine.read_text().splitlines()[0])["reason"] == "tx is not a list"
    side = tmp_path / "g.lbug.rates.parquet"
    assert RateTable.from_parquet(side).rate_at(1464300000) == 455.0
    res = runner.invoke(app, ["btc", "cluster", "--store", store])
    assert res.exit_code == 0, res.output
    with open_store(store) as s:
        rows = s.query(
            "MATCH (a:Address)-[:IN_WALLET]->(w:Wallet) RETURN a.address AS addr, w.id AS w "
            "ORDER BY addr"
        )
        seen = s.query("MATCH (t:Tx {txid: $t}) RETURN t.first_seen_ts AS f", {"t": TX[1]})
        proc = s.query("MATCH (a:Address {address: $a}) RETURN a.processor AS p", {"a": P})
    assert rows == [{"addr": A, "w": "w:" + A}, {"addr": B, "w": "w:" + A}]
    assert seen == [{"f": 1464299940}] and proc == [{"p": True}]
    # --strict stops at the bad record with exit code 1 and names it
    res = runner.invoke(app, ["btc", "load", str(chain), "--store", store, "--strict"])
    assert res.exit_code == 1
    assert f"error: {chain}:line 2 block: tx is not a list" in res.output


def test_an_error_is_one_line_on_a_narrow_terminal(tmp_path):
    """The reference to the bad record is never wrapped, whatever the terminal width."""
    chain = tmp_path / ("a-long-folder-name-" * 4) / "blocks.jsonl"
    chain.parent.mkdir()
    chain.write_text(chain_jsonl())
    args = ["btc", "load", str(chain), "--store", str(tmp_path / "g.lbug"), "--strict"]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "40"})
    assert res.exit_code == 1
    assert f"error: {chain}:line 2 block: tx is not a list\n" in res.output
