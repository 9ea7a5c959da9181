"""Stages estimate their memory before they start and stop with what to do."""

from __future__ import annotations

import pytest

from ownergraph.memory_budget import (
    GB,
    MEMORY_LIMIT_ENV,
    STAGE_MEMORY,
    MemoryBudgetError,
    available_bytes,
    check_stage_memory,
)

AUTHORS = STAGE_MEMORY["authors"]


def check_authors_memory(n_ads: int, available: int | None = None) -> int | None:
    return check_stage_memory("authors", n_ads, available)


def test_estimate_is_linear_and_passes_when_it_fits() -> None:
    need = check_authors_memory(100_000, available=64 * GB)
    assert need == AUTHORS.fixed + 100_000 * AUTHORS.per_ad
    assert check_authors_memory(200_000, available=64 * GB) - need == 100_000 * AUTHORS.per_ad


def test_estimate_covers_the_measured_peaks_and_lets_1m_ads_run_here() -> None:
    """Measured peaks (bench_authors_stage.py, one 1M-ad world): 2.10 GB at 100k ads,
    7.51 GB at 1M; a 1M run must pass on a 24 GB machine (~19 GB available) and within
    the 8 GB target."""
    assert check_authors_memory(100_000, available=64 * GB) >= 2.10 * GB
    assert 7.51 * GB <= check_authors_memory(1_000_000, available=19 * GB) <= 8 * GB


def test_owners_estimate_covers_its_measured_peaks() -> None:
    """bench_end_to_end.py: the owners stage peaked at 1.83 / 3.07 / 6.56 GB at 100k /
    300k / 1M ads."""
    assert check_stage_memory("owners", 100_000, available=64 * GB) >= 1.83 * GB
    assert check_stage_memory("owners", 300_000, available=64 * GB) >= 3.07 * GB
    assert 6.56 * GB <= check_stage_memory("owners", 1_000_000, available=19 * GB) <= 8 * GB


def test_estimate_over_the_limit_says_what_to_do() -> None:
    with pytest.raises(MemoryBudgetError) as exc:
        check_authors_memory(1_000_000, available=AUTHORS.fixed + GB // 2)
    msg = str(exc.value)
    assert "1,000,000 ads need an estimated" in msg
    assert "--incremental" in msg and MEMORY_LIMIT_ENV in msg
    fits = int((GB // 2) / AUTHORS.per_ad)
    assert f"about {fits:,} ads fit" in msg


def test_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0")
    assert available_bytes() is None
    assert check_authors_memory(10**9) > 0  # no check
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2.5")
    assert available_bytes() == int(2.5 * GB)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(MemoryBudgetError, match="not a number of GB"):
        available_bytes()
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert available_bytes() > 0  # MemAvailable of this machine


@pytest.mark.parametrize(
    ("stage", "written"),
    [
        ("authors", "MATCH (n:Author) RETURN count(n) AS n"),
        ("owners", "MATCH (n:Owner) RETURN count(n) AS n"),
    ],
)
def test_pipeline_stops_before_the_stage_reads_anything(
    store, tmp_path, monkeypatch: pytest.MonkeyPatch, stage: str, written: str
) -> None:
    from ownergraph.pipeline import run_pipeline
    from ownergraph.synth.world import generate_world

    generate_world(tmp_path / "world", n_ads=300, seed=1)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0.001")  # a fake machine of 1 MB
    with pytest.raises(MemoryBudgetError, match=f"^{stage} stage: 300 ads need an estimated"):
        run_pipeline(store, tmp_path / "world", work_dir=tmp_path / "run", stages=("ads", stage))
    assert store.query("MATCH (a:Ad) RETURN count(a) AS n")[0]["n"] == 300  # ads kept
    assert store.query(written)[0]["n"] == 0
    assert not (tmp_path / "run" / "author_model.joblib").exists()


def test_every_estimated_stage_says_what_to_do_and_others_are_not_checked() -> None:
    for stage, line in STAGE_MEMORY.items():
        with pytest.raises(MemoryBudgetError, match=f"^{stage} stage: 1,000,000 ads") as exc:
            check_stage_memory(stage, 1_000_000, available=line.fixed)
        assert "--incremental" in str(exc.value) and "about 0 ads fit" in str(exc.value)
    assert check_stage_memory("bitcoin", 10**9, available=1) is None


def test_pipeline_gives_back_the_store_cache_after_each_stage(tmp_path) -> None:
    """Each stage starts without the pages the last one left in the embedded store's
    buffer pool (reopened between stages), and the store keeps everything written."""
    from ownergraph.pipeline import run_pipeline
    from ownergraph.store.embedded import EmbeddedStore
    from ownergraph.synth.world import generate_world

    class Counting(EmbeddedStore):
        releases = 0

        def release_memory(self) -> None:
            type(self).releases += 1
            super().release_memory()

    generate_world(tmp_path / "world", n_ads=300, seed=1)
    with Counting(tmp_path / "graph.lbug") as store:
        store.init_schema()
        run_pipeline(
            store, tmp_path / "world", work_dir=tmp_path / "run", stages=("ads", "bitcoin")
        )
        assert Counting.releases == 2  # after ads, after bitcoin
        assert store.query("MATCH (a:Ad) RETURN count(a) AS n")[0]["n"] == 300
        assert store.query("MATCH (t:Tx) RETURN count(t) AS n")[0]["n"] > 0
