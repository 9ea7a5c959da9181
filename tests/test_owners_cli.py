"""The owners / report commands, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_owners_world import build_world
from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.store.embedded import EmbeddedStore

runner = CliRunner()


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store holding the test world, given by URI (the CLI opens it itself)."""
    if request.param == "embedded":
        path = tmp_path / "g.lbug"
        s = EmbeddedStore(path)
        s.init_schema()
        build_world(s)
        s.close()
        return str(path)
    s = request.getfixturevalue("neo4j_store")
    build_world(s)
    return s.uri


def _run(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def test_detect_list_show_report(store_uri: str, tmp_path: Path):
    # the tiny world is too small to calibrate on: take the evidence as given
    out = json.loads(_run("owners", "detect", "--store", store_uri, "--json", "--no-calibrate"))
    assert out["owners"] == 4 and out["largest"] == 6 and out["method"] == "leiden"
    rows = json.loads(_run("owners", "list", "--store", store_uri, "--json", "--top", "5"))
    # groups of >= 2 ads by default; b2 is a repost of b1, counted once
    assert [r["ads"] for r in rows] == [6, 2]
    assert rows[0]["flags"] == "many people; many states"
    by_ads = json.loads(
        _run("owners", "list", "--store", store_uri, "--json", "--sort", "ads", "--min-ads", "1")
    )
    assert len(by_ads) == 4
    shown = _run("owners", "show", rows[0]["id"], "--store", store_uri)
    for text in ("many people", "+17025550147", "W1", "2016-03-02", "timeline",
                 "read from the ad text", "default weights"):  # fmt: skip
        assert text in shown
    other = _run("owners", "show", rows[1]["id"], "--store", store_uri)
    assert "reposts counted once (1): b2 -> b1" in other
    detail = json.loads(_run("owners", "show", rows[0]["id"], "--store", store_uri, "--json"))
    assert len(detail["ads"]) == 6 and detail["wallets"][0]["wallet"] == "W1"
    page = tmp_path / "case.html"
    _run("report", rows[0]["id"], "--out", str(page), "--redact", "--store", store_uri)
    text = page.read_text(encoding="utf-8")
    assert rows[0]["id"] in text and "+17025550147" not in text and "[phone]" in text
    assert "Read from the ad text" in text and 'href="#ad-a1"' in text
    out = _run("report", "--top", "2", "--out", str(tmp_path / "reports"), "--store", store_uri)
    assert "index.html" in out
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        ["index.html", f"{rows[0]['id']}.html", f"{rows[1]['id']}.html"]
    )
    components = json.loads(
        _run("owners", "detect", "--store", store_uri, "--method", "components", "--json")
    )
    assert components["owners"] == 5


def test_bad_options_and_unknown_owner_are_clear_errors(tmp_path: Path):
    path = tmp_path / "g.lbug"
    s = EmbeddedStore(path)
    s.init_schema()
    build_world(s)
    s.close()
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--weights", "fax=1"])
    assert res.exit_code == 2 and "bad evidence weight 'fax=1'" in res.output
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--must-link", "dna"])
    assert res.exit_code == 2 and "unknown kinds ['dna']" in res.output
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--authors", "merge"])
    assert res.exit_code == 2 and "--authors must be attach or join" in res.output
    # the tiny world is too small to calibrate on: hard identifiers alone, and it says so
    out = json.loads(_run("owners", "detect", "--store", str(path), "--json"))
    assert out["owners"] == 5 and "too few identifier-linked ads" in out["calibration"]["reason"]
    joined = json.loads(_run("owners", "detect", "--store", str(path), "--json", "--authors",
                             "join"))  # fmt: skip
    assert joined["owners"] == 4 and joined["calibration"]["setting"].startswith("as given")
    res = runner.invoke(app, ["owners", "list", "--store", str(path), "--sort", "evil"])
    assert res.exit_code == 2 and "cannot sort by 'evil'" in res.output
    res = runner.invoke(app, ["owners", "label", "O-missing", "operation", "--store", str(path)])
    assert res.exit_code == 1 and "no owner group with id 'O-missing'" in res.output
    first = json.loads(_run("owners", "list", "--store", str(path), "--json"))[0]["id"]
    res = runner.invoke(app, ["owners", "label", first, "pimp", "--store", str(path)])
    assert res.exit_code == 2
    assert "label must be one of operation, independent, unsure" in res.output
    out = _run("owners", "label", first, "operation", "--store", str(path))
    assert "labelled operation" in out and "the learned score needs 5 of each" in out
    res = runner.invoke(app, ["owners", "show", "O-missing", "--store", str(path)])
    assert res.exit_code == 1 and "no owner group with id 'O-missing'" in res.output
    res = runner.invoke(app, ["report", "O-missing", "--store", str(path)])
    assert res.exit_code == 1 and "no owner group" in res.output
    res = runner.invoke(app, ["report", "--store", str(path)])
    assert res.exit_code == 2 and "give an owner id or --top N" in res.output
    res = runner.invoke(app, ["owners", "detect", "--store", str(path), "--method", "gds-leiden"])
    assert res.exit_code == 1 and "Graph Data Science is not available" in res.output
