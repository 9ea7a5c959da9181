"""Shared fixtures: real stores only (embedded LadybugDB, and a real Neo4j 5.26 server).

Neo4j: ``NEO4J_URI`` names a running server; without it the session starts the dev
server from ``neo4j-dev/`` (Maven Central jars, no Docker). btcd: a real Go full node
(built by ``scripts/test`` into ``~/.cache/ownergraph/btcd``, or ``OWNERGRAPH_BTCD``),
started on loopback in regtest. With ``CI=true`` a Neo4j, browser or btcd test that would
be skipped fails instead.

Hypothesis: the test command runs the ``ci`` profile (derandomized: the same examples on
every machine and every run, no example database; they depend on the hypothesis version,
pinned in pyproject.toml); ``./scripts/fuzz`` runs the ``fuzz`` profile (random, many more
examples, see ``tests/fuzzing.py``). ``HYPOTHESIS_PROFILE`` picks one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from btcd_node import BtcdNode
from hypothesis import HealthCheck, settings

from ownergraph.store.base import Store
from ownergraph.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MUST_RUN = ("neo4j", "browser", "btcd")
BTCD_CACHE = Path.home() / ".cache" / "ownergraph" / "btcd" / "bin" / "btcd"

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, suppress_health_check=_SLOW_OK
)
settings.register_profile("fuzz", deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "neo4j_store" in fixtures or "neo4j_uri" in fixtures:
            item.add_marker(pytest.mark.neo4j)
        if "store" in fixtures and "[neo4j" in item.nodeid:
            item.add_marker(pytest.mark.neo4j)
        if "btcd" in fixtures:
            item.add_marker(pytest.mark.btcd)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in MUST_RUN):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which is a failure here: {report.longrepr}"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI output laid out for a wide terminal whatever terminal (or none) runs the tests:
    rich and typer read COLUMNS. A message stays on one line; tests check messages."""
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (../shared/data); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real data is not part of the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    uri = os.environ.get("NEO4J_URI")
    if uri:
        yield uri
        return
    script = ROOT / "neo4j-dev" / "neo4j-dev"
    if not script.exists():
        pytest.skip("no NEO4J_URI and no neo4j-dev/ script to start a server")
    port = os.environ.get("NEO4J_DEV_PORT", "7687")
    started = subprocess.run([str(script), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"could not start the Neo4j dev server: {started.stderr[-2000:]}")
    yield f"bolt://127.0.0.1:{port}"
    # Leave a server we did not start running; stop the one we started.
    if "already running" not in started.stdout + started.stderr:
        subprocess.run([str(script), "stop"], capture_output=True)


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "graph.lbug")
    store.init_schema()
    yield store
    store.close()


@pytest.fixture
def neo4j_store(neo4j_uri: str) -> Iterator[Store]:
    from ownergraph.store.neo4j import Neo4jStore

    store = Neo4jStore(neo4j_uri)
    _wipe(store)
    store.init_schema()
    yield store
    store.close()


def _wipe(store: Store) -> None:
    store.clear()


@pytest.fixture(params=["embedded", "neo4j"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both stores."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(scope="session")
def btcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BtcdNode]:
    """A real btcd full node in regtest on loopback (RPC without TLS), mining to
    ``BtcdNode.miner``; stopped at the end of the session."""
    binary = Path(os.environ.get("OWNERGRAPH_BTCD", BTCD_CACHE))
    if not binary.is_file():
        pytest.skip(f"no btcd binary at {binary}: ./scripts/test builds it with the Go toolchain")
    node = BtcdNode(binary, tmp_path_factory.mktemp("btcd"))
    try:
        node.start()
    except RuntimeError as exc:
        node.stop()
        pytest.skip(f"btcd did not start: {exc}")
    yield node
    node.stop()


# The demo world (``ownergraph demo``'s defaults: 8,000 ads, seed 1), built once per session.
DEMO_ADS, DEMO_SEED = 8_000, 1


def build_demo(folder: Path, store: Store, ads: int = DEMO_ADS, seed: int = DEMO_SEED) -> None:
    """Generate a demo world in ``folder`` and run every pipeline stage into ``store``."""
    from ownergraph.pipeline import run_pipeline
    from ownergraph.synth.world import generate_world

    generate_world(folder / "world", n_ads=ads, seed=seed)
    run_pipeline(store, folder / "world", work_dir=folder / "run", seed=seed)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """The demo world on the embedded store (as ``ownergraph demo`` leaves it)."""
    folder = tmp_path_factory.mktemp("demo")
    store = EmbeddedStore(folder / "graph.lbug")
    store.init_schema()
    build_demo(folder, store)
    yield store
    store.close()
