"""BTC/USD rates: interpolation, bucketing, vectorised reads, range and staleness errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.loaders.rates import RateError, RateTable, sidecar_path


def table(method="linear", staleness=None) -> RateTable:
    df = pd.DataFrame({"time_ts": [1000, 1060, 1180], "usd_per_btc": [400.0, 460.0, 340.0]})
    return RateTable.from_frame(df, method, staleness)


def test_linear_interpolation_and_previous_bucketing():
    lin, prev = table("linear"), table("previous")
    assert lin.rate_at(1000) == 400.0 and lin.rate_at(1030) == pytest.approx(430.0)
    assert lin.rate_at(1120) == pytest.approx(400.0) and lin.rate_at(1180) == 340.0
    assert prev.rate_at(1030) == 400.0 and prev.rate_at(1060) == 460.0
    assert prev.rate_at(1179) == 460.0


def test_outside_the_range_is_an_error_naming_the_time():
    with pytest.raises(RateError, match="999"):
        table().rate_at(999)
    with pytest.raises(RateError, match="1181"):
        table().rate_at(np.array([1000, 1181]))
    out = table().rate_at(np.array([999, 1000, 1200]), on_missing="nan")
    assert np.isnan(out[0]) and out[1] == 400.0 and np.isnan(out[2])


def test_max_staleness():
    prev = table("previous", staleness=60)
    assert prev.rate_at(1240) == 340.0  # 60 s after the last point: allowed
    with pytest.raises(RateError, match="1121"):
        prev.rate_at(1121)  # 61 s after 1060
    lin = table("linear", staleness=30)
    assert lin.rate_at(1090) == pytest.approx(430.0)
    with pytest.raises(RateError):
        lin.rate_at(1120)  # 60 s from both neighbours


@settings(max_examples=examples(50))
@given(
    st.lists(st.integers(1000, 1180), min_size=1, max_size=30),
    st.sampled_from(["linear", "previous"]),
)
def test_vectorised_equals_scalar(times, method):
    t = table(method)
    vec = t.rate_at(np.array(times))
    assert np.allclose(vec, [t.rate_at(x) for x in times])


def test_csv_reading_errors_name_the_line(tmp_path):
    p = tmp_path / "rates.csv"
    p.write_text("time,usd_per_btc\n1000,400\n2016-01-01T00:00:00+00:00,410\n")
    t = RateTable.from_csv(p, "previous")
    assert t.rate_at(1451606400) == 410.0 and t.frame["time_ts"].dtype == "Int64"
    p.write_text("time,usd_per_btc\n1000,400\n1060,abc\n")
    with pytest.raises(RateError, match="line 3.*not a number"):
        RateTable.from_csv(p)
    p.write_text("time,usd_per_btc\n1000,400\n1000,401\n")
    with pytest.raises(RateError, match="repeated"):
        RateTable.from_csv(p)
    p.write_text("time,usd_per_btc\n1000,-1\n")
    with pytest.raises(RateError, match="not > 0"):
        RateTable.from_csv(p)
    p.write_text("when,usd\n1,2\n")
    with pytest.raises(RateError, match="need columns"):
        RateTable.from_csv(p)
    p.write_text("time,usd_per_btc\n2016-01-01 00:00:00,400\n")
    with pytest.raises(RateError, match="no UTC offset"):
        RateTable.from_csv(p)


def test_parquet_sidecar_round_trip(tmp_path):
    side = sidecar_path(str(tmp_path / "graph.lbug"))
    assert side == tmp_path / "graph.lbug.rates.parquet"
    assert sidecar_path("neo4j://localhost:7687") is None
    table().to_parquet(side)
    back = RateTable.from_parquet(side, "previous")
    assert back.rate_at(1100) == 460.0
