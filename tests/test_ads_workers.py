"""Parsing ads in worker processes changes nothing: the same graph, quarantine, summary
and progress as one process, on both stores; and the ordered pool underneath keeps input
order, raises where one process would, and keeps small inputs in this process."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_ads_loader import BAD_CASES, PARTIAL_CASES, good
from test_reliability_common import dump, make_ads

from ownergraph import defaults
from ownergraph.loaders.ads import load_ads
from ownergraph.loaders.ordered_pool import map_in_order
from ownergraph.loaders.quarantine import InputError, Quarantine

KEY = b"k" * 32


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool on a small file: no inline start, chunks of 7, two chunks in flight."""
    monkeypatch.setattr(defaults, "ADS_INLINE_RECORDS", 0)
    monkeypatch.setattr(defaults, "ADS_PARSE_CHUNK", 7)
    monkeypatch.setattr(defaults, "ADS_PARSE_INFLIGHT", 2)


def mixed_file(path: Path) -> Path:
    """Good ads (plain and spelled-out phones, e-mails), every bad-record case, bad
    optional fields, and repeated ids (identical, and with different content) that land
    in other chunks than their first record."""
    lines = [good(1), *((json.dumps(a) + "\n").encode() for a in make_ads(240, seed=3))]
    for k, bad in enumerate([*BAD_CASES.values(), *PARTIAL_CASES.values()]):
        lines.insert(5 + 17 * k, bad)
    lines.insert(100, lines[10])  # the same record again
    changed = {**make_ads(240, seed=3)[20], "title": "changed"}
    lines.insert(150, (json.dumps(changed) + "\n").encode())  # ad20 with other content
    lines += [good(9), good(9, body="other text"), b'{"id": "last", "title": "cut']
    path.write_bytes(b"".join(lines))
    return path


def load(store, path: Path, qpath: Path, workers: int, hmac_key=None):
    ticks: list[int] = []
    with Quarantine(qpath) as q:
        s = load_ads(
            store, path, quarantine=q, workers=workers, hmac_key=hmac_key, progress=ticks.append
        )
    return dataclasses.asdict(s), qpath.read_text(), dump(store), ticks


@pytest.mark.parametrize("hmac_key", [None, KEY], ids=["plain", "hmac"])
def test_two_workers_load_exactly_what_one_process_loads(store, tmp_path, small_chunks, hmac_key):
    path = mixed_file(tmp_path / "ads.jsonl")
    one = load(store, path, tmp_path / "q1.jsonl", 1, hmac_key)
    store.clear()
    two = load(store, path, tmp_path / "q2.jsonl", 2, hmac_key)
    summary = one[0]
    # + ad20 and g9 with other content, and the cut last line
    assert summary["quarantined"] == len(BAD_CASES) + 3
    assert summary["duplicates"] == 1 and summary["dropped"] and summary["phones"] > 200
    assert summary["read"] == len(one[3]) == summary["loaded"] + summary["quarantined"]
    assert one[1].count("\n") == summary["quarantined"]
    assert len(one[2]["Ad"]) == summary["loaded"] - 1 and one[2]["HAS_EMAIL"]
    for what, a, b in zip(("summary", "quarantine", "graph", "progress"), one, two, strict=True):
        assert a == b, what


def test_strict_mode_stops_at_the_same_record_with_the_same_writes(
    embedded_store, tmp_path, small_chunks
):
    path = mixed_file(tmp_path / "ads.jsonl")
    out = []
    for workers in (1, 2):
        with pytest.raises(InputError) as err:
            load_ads(
                embedded_store, path, quarantine=Quarantine(strict=True), workers=workers,
                batch_size=3,
            )  # fmt: skip
        out.append((str(err.value), dump(embedded_store)))
        embedded_store.clear()
    assert out[0] == out[1]
    assert ":6: malformed JSON" in out[0][0] and len(out[0][1]["Ad"]) == 3


def pids(chunk: list[int]) -> list[tuple[int, int]]:
    return [(x, os.getpid()) for x in chunk]


def halves(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        raise ZeroDivisionError("13")
    return [x // 2 for x in chunk]


def failing_after(n: int):
    yield from range(n)
    raise OSError("disk gone")


def test_results_come_back_in_input_order_from_other_processes():
    got = list(map_in_order(pids, range(1000), workers=2, chunk=9, inflight=1, inline=10))
    assert [x for x, _ in got] == list(range(1000))
    assert [x for _, (x, _) in got] == list(range(1000))
    assert {pid for _, (_, pid) in got} - {os.getpid()}  # parsed elsewhere


def test_a_small_input_stays_in_this_process():
    got = list(map_in_order(pids, range(10), workers=2, chunk=3, inline=10))
    assert {pid for _, (_, pid) in got} == {os.getpid()}


@pytest.mark.parametrize("workers", [1, 2])
def test_errors_are_raised_after_every_earlier_item(workers):
    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for x, _ in map_in_order(pids, failing_after(50), workers=workers, chunk=4, inline=5):
            seen.append(x)
    assert seen == list(range(50))
    seen = []
    with pytest.raises(ZeroDivisionError):
        for x, _ in map_in_order(halves, range(50), workers=workers, chunk=1, inline=5):
            seen.append(x)
    assert seen == list(range(13))


def slow_pids(chunk: list[int]) -> list[int]:
    time.sleep(0.05 * len(chunk))
    return [os.getpid() for _ in chunk]


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_end_when_the_loading_process_is_killed():
    code = (
        "import os\n"
        "from ownergraph.loaders.ordered_pool import map_in_order\n"
        "from test_ads_workers import slow_pids\n"
        "for _, pid in map_in_order(slow_pids, range(10**6), workers=2, chunk=2, inline=0):\n"
        "    if pid != os.getpid():\n"
        "        print(pid, flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    cmd = [sys.executable, "-c", code]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    workers = {int(proc.stdout.readline()) for _ in range(20)}
    proc.kill()
    proc.wait()
    # loky's workers notice their caller has gone after their queued work and idle wait
    # (41 s measured); a worker that never ends fails this
    deadline = time.monotonic() + 120
    while not all(gone(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert workers and all(gone(p) for p in workers)
