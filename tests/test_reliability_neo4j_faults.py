"""Neo4j faults: the server stopped and restarted in the middle of ``ownergraph load ads``.

A private Neo4j dev server (``neo4j-dev/neo4j-dev`` on port ``RELIABILITY_NEO4J_PORT``,
default a free port the OS gives, auth on, its own home in a temp dir) is started for this
module, so that the shared server is never stopped. Three starts in all (about a minute
each on a busy CI box):

1. a load runs; the server is stopped and started again under it; the load waits, retries
   and finishes: the graph equals an uninterrupted load's, property for property;
2. a load runs; the server is stopped and stays down: the load fails within its retry
   budget (``OWNERGRAPH_NEO4J_RETRY_SECONDS``) with a clear message and exit code 1;
   a re-run started while the server is still down waits for it, and once the server is
   back it finishes the job: again the same graph (nothing was lost).

Also here, since this server checks passwords: a wrong password is a clear error that
does not print the password.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_reliability_common import NEO4J_DEV, cli_cmd, cli_env, dump, make_ads, write_jsonl

from ownergraph.loaders.ads import load_ads
from ownergraph.store.base import open_store

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


def _free_port() -> str:
    """A port nothing listens on now (a fixed one collides with other servers on the box)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


PORT = os.environ.get("RELIABILITY_NEO4J_PORT") or _free_port()
PASSWORD = "faults-test-pw-1"
N_ADS = 2500
BATCH = 25
BAD_AT = 301  # the quarantine line appears once this many records were read


@dataclass
class DevServer:
    home: Path

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{PORT}"

    def _run(self, cmd: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "NEO4J_DEV_PORT": PORT,
            "NEO4J_DEV_BROWSER_PORT": "off",
            "NEO4J_DEV_HOME": str(self.home),
            "NEO4J_DEV_PASSWORD": PASSWORD,
            "NEO4J_DEV_HEAP": "768m",
        }
        return subprocess.run(
            [str(NEO4J_DEV), cmd], env=env, capture_output=True, text=True, timeout=400
        )

    def start(self) -> None:
        res = self._run("start")
        assert res.returncode == 0, res.stderr[-3000:]

    def stop(self) -> None:
        res = self._run("stop")
        assert res.returncode == 0, res.stderr[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[DevServer]:
    if not NEO4J_DEV.exists():
        pytest.skip("no neo4j-dev/ script to start a private Neo4j server")
    srv = DevServer(tmp_path_factory.mktemp("neo4j-faults"))
    res = srv._run("start")
    if res.returncode != 0:
        pytest.skip(f"could not start a private Neo4j dev server: {res.stderr[-2000:]}")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict]:
    """An ad file and the full dump of its uninterrupted load (embedded store)."""
    d = tmp_path_factory.mktemp("faults-world")
    ads = make_ads(N_ADS, seed=21)
    ads.insert(BAD_AT - 1, {"id": "bad", "age": "old"})
    path = write_jsonl(d / "ads.jsonl", ads)
    with open_store(str(d / "ref.lbug")) as s:
        s.init_schema()
        load_ads(s, path)
        return path, dump(s)


def env(retry_seconds: int) -> dict[str, str]:
    return cli_env(NEO4J_PASSWORD=PASSWORD, OWNERGRAPH_NEO4J_RETRY_SECONDS=str(retry_seconds))


def start_load(server: DevServer, path: Path, q: Path, retry_seconds: int) -> subprocess.Popen:
    args = ["load", "ads", str(path), "--store", server.uri, "--batch-size", str(BATCH)]
    with open(q.with_suffix(".out"), "w") as out:
        return subprocess.Popen(
            cli_cmd(*args, "--quarantine", str(q)),
            env=env(retry_seconds),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_under_way(proc: subprocess.Popen, q: Path) -> None:
    while not q.exists():
        assert proc.poll() is None, "the load ended before it was under way"
        time.sleep(0.05)


def server_dump(server: DevServer) -> dict:
    with open_store(server.uri, password=PASSWORD) as s:
        return dump(s)


def wipe(server: DevServer) -> None:
    with open_store(server.uri, password=PASSWORD) as s:
        s.init_schema()
        s.clear()


def test_a_restart_under_a_load_and_a_server_that_stays_down(server, world, tmp_path):
    path, reference = world
    wipe(server)

    # 1. Stopped and restarted under a running load: the load waits, retries, finishes.
    q1 = tmp_path / "q1.jsonl"
    proc = start_load(server, path, q1, retry_seconds=400)
    wait_until_under_way(proc, q1)
    server.stop()
    assert proc.poll() is None, "the load finished before the server went down"
    down_at = time.monotonic()
    server.start()
    print(f"server down for {time.monotonic() - down_at:.0f}s under the load")
    assert proc.wait(timeout=600) == 0, q1.with_suffix(".out").read_text()
    assert server_dump(server) == reference

    # 2. Stopped for good under a load: clear failure within the retry budget, exit 1.
    wipe(server)
    q2 = tmp_path / "q2.jsonl"
    proc = start_load(server, path, q2, retry_seconds=5)
    wait_until_under_way(proc, q2)
    server.stop()
    stopped = time.monotonic()
    assert proc.wait(timeout=120) == 1
    waited = time.monotonic() - stopped
    out = q2.with_suffix(".out").read_text()
    assert "error: Neo4j at" in out and "re-run to finish" in out, out
    assert "Traceback" not in out and PASSWORD not in out
    print(f"the load gave up {waited:.0f}s after the server stopped")
    assert waited < 60

    # ... and a re-run, started while the server is still down, finishes once it is back.
    q3 = tmp_path / "q3.jsonl"
    proc = start_load(server, path, q3, retry_seconds=400)
    time.sleep(2)
    assert proc.poll() is None  # waiting for the server, not failing
    server.start()
    assert proc.wait(timeout=600) == 0, q3.with_suffix(".out").read_text()
    assert server_dump(server) == reference


def test_a_wrong_password_is_a_clear_error_without_the_password(server, tmp_path):
    wrong = "not-the-password-9"
    res = subprocess.run(
        cli_cmd("stats", "--store", server.uri),
        env=cli_env(NEO4J_PASSWORD=wrong, OWNERGRAPH_NEO4J_RETRY_SECONDS="5"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 2 and "refused the credentials" in out
    assert wrong not in out and PASSWORD not in out
