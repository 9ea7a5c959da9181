"""Your own data, end to end (issue 19): discoverable mapping, partial records, dates,
places outside the US, and a second real-world layout loaded with no preprocessing."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.loaders.ad_mapping import AdMapping
from ownergraph.loaders.ads import load_ads, parse_time
from ownergraph.loaders.inspect import inspect_file
from ownergraph.places import normalise_place, place_key

FIXTURE = Path(__file__).parent / "fixtures" / "other_site_ads.csv"
OTHER_SITE_MAP = [
    "--map", "id=Post ID", "--map", "title=Ad Title", "--map", "body=Description",
    "--map", "posted_at=Posted", "--map", "city=Location", "--map", "age=Age",
    "--map", "url=Ad URL", "--map", "site=Ad URL:domain",
]  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# ---- 1. a mapping you can discover ----


def test_help_lists_fields_transforms_and_presets():
    res = run("load", "ads", "--help")
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    for word in ("posted_at", "price_usd", "subdomain", "backpage_category", "dig-jsonld"):
        assert word in text


def test_inspect_shows_columns_samples_and_a_suggested_mapping():
    res = run("load", "ads", str(FIXTURE), "--inspect")
    assert res.exit_code == 0, res.output
    assert "Tue 18 Jul 2017 02:29 PM" in res.output and "northbay" in res.output
    ins = inspect_file(FIXTURE)
    assert ins.suggested == {
        "id": "Post ID",
        "title": "Ad Title",
        "body": "Description",
        "posted_at": "Posted",
        "city": "Location",
        "age": "Age",
        "url": "Ad URL",
    }


def test_a_missing_mapped_column_is_an_error_before_reading(tmp_path):
    store = tmp_path / "g.lbug"
    res = run("load", "ads", str(FIXTURE), "--store", str(store), "--map", "id=PostID")
    assert res.exit_code == 2
    assert "mapped column(s) not in the file: PostID" in res.output
    assert "--inspect" in res.output
    assert not store.exists()  # nothing opened, nothing read


def test_transforms_work_in_map():
    m = AdMapping.build(columns={"city": "Url:subdomain", "site": "Url:domain"})
    rec = m.apply({"Url": "https://northbay.example-escorts.ca/x/1"})
    assert rec["city"] == "northbay" and rec["site"] == "example-escorts.ca"
    # a JSON key with a colon that is no transform stays a column name
    assert AdMapping.build(columns={"title": "schema:text"}).columns["title"] == "schema:text"


# ---- 2. partial records, exit status ----


def test_nothing_loaded_exits_non_zero_with_the_fix(tmp_path):
    res = run("load", "ads", str(FIXTURE), "--store", str(tmp_path / "g.lbug"),
              "--quarantine", str(tmp_path / "q.jsonl"))  # fmt: skip
    assert res.exit_code == 1
    assert "nothing loaded" in res.output and "--inspect" in res.output and "--map" in res.output
    assert "quarantined 8: id: missing" in res.output


def test_max_bad_fails_a_load_with_too_many_rejections(tmp_path):
    path = tmp_path / "ads.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in ({"id": "a", "body": "x"}, {"id": "b"}, {"body": "y"}))
        + "\n",
        encoding="utf-8",
    )
    base = ["load", "ads", str(path), "--store", str(tmp_path / "g.lbug"),
            "--quarantine", str(tmp_path / "q.jsonl")]  # fmt: skip
    assert run(*base).exit_code == 0
    res = run(*base, "--max-bad", "1")
    assert res.exit_code == 1 and "more than --max-bad 1" in res.output


# ---- the second layout: dates, bare lower-case Canadian cities, an age "xx" ----


def test_other_site_layout_loads_with_no_preprocessing(tmp_path, embedded_store):
    res = run("load", "ads", str(FIXTURE), "--store", str(tmp_path / "g.lbug"),
              "--quarantine", str(tmp_path / "q.jsonl"), "--country", "CA",
              "--timezone", "America/Toronto", *OTHER_SITE_MAP)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "loaded without a field 1: age: not a number" in res.output
    assert "posted_at: not a date in a known form" in res.output
    mapping = AdMapping.build(columns=dict(a.split("=", 1) for a in OTHER_SITE_MAP[1::2]))
    s = load_ads(embedded_store, FIXTURE, mapping=mapping, country="CA", timezone="America/Toronto")
    assert (s.read, s.loaded, s.quarantined) == (8, 8, 0)
    rows = embedded_store.query(
        "MATCH (a:Ad)-[:POSTED_IN]->(l:Location) RETURN a.id AS id, a.posted_ts AS t, "
        "a.age AS age, a.city AS city, a.state AS st, a.country AS c, l.key AS key ORDER BY id"
    )
    first, second = rows[0], rows[1]
    assert first["t"] == 1500402540  # Tue 18 Jul 2017 02:29 PM EDT = 18:29 UTC
    assert (second["city"], second["st"], second["c"]) == ("North Bay", "ON", "CA")
    assert second["age"] is None and second["key"] == "CA|ON|north bay"
    assert embedded_store.counts()["HAS_PHONE"] == 8  # the ad with age "xx" keeps its phone


# ---- 3. dates ----


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("Tue 18 Jul 2017 02:29 PM", None, 1500388140),
        ("Jul 18, 2017 14:29", None, 1500388140),
        ("2017-07-18T14:29:00", None, 1500388140),
        ("18.07.2017 14:29", "%d.%m.%Y %H:%M", 1500388140),
        ("18/07/2017 14:29", None, 1500388140),  # day > 12: only one reading
    ],
)
def test_common_date_forms_and_date_format(text, fmt, expected):
    assert parse_time(text, ZoneInfo("UTC"), 2_000_000_000, fmt) == expected


@pytest.mark.parametrize(
    ("text", "fmt", "needle"),
    [
        ("03/04/2017", None, "ambiguous"),
        ("July", None, "incomplete date"),
        ("someday", None, "--date-format"),
        ("2017-07-18", "%d.%m.%Y", "does not match --date-format"),
    ],
)
def test_dates_that_cannot_be_read_say_why(text, fmt, needle):
    with pytest.raises(ValueError, match=needle):
        parse_time(text, ZoneInfo("UTC"), 2_000_000_000, fmt)


def test_the_time_zone_applies_to_written_dates():
    toronto = parse_time("Tue 18 Jul 2017 02:29 PM", ZoneInfo("America/Toronto"), 2_000_000_000)
    assert toronto == 1500388140 + 4 * 3600


# ---- 4. places outside the US ----


def test_a_city_without_region_is_placed_with_a_country_hint():
    p = normalise_place("northbay", country_hint="CA")
    assert (p.country, p.region, p.city, p.placed_by) == ("CA", "ON", "North Bay", "gazetteer")
    assert normalise_place("x", "Ontario").region == "ON"
    assert normalise_place("x", "nv").country == "US"


def test_ambiguous_names_are_flagged_not_guessed():
    p = normalise_place("london")  # Ontario or England
    assert p.region is None and "ambiguous" in p.problems[0] and "ON CA" in p.problems[0]
    assert normalise_place("london", country_hint="CA").region == "ON"
    # a Backpage site name with its state given is never looked up
    p = normalise_place("northbay", "CA")
    assert (p.country, p.region, p.problems) == ("US", "CA", ())


def test_place_key_keeps_countries_apart():
    assert place_key("CA", "ON", "North  Bay") == "CA|ON|north bay"
    assert place_key("CA", "ON") != place_key("US", "ON")
    assert place_key(None, None, None) is None


# ---- 9. store addresses ----


def test_an_unknown_store_scheme_is_an_error_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("stats", "--store", "neo4:/127.0.0.1:7751")
    assert res.exit_code == 2 and "unknown store address" in res.output
    assert "Traceback" not in res.output and list(tmp_path.iterdir()) == []


def test_a_read_never_creates_an_embedded_store(tmp_path):
    res = run("stats", "--store", str(tmp_path / "typo.lbug"))
    assert res.exit_code == 2 and "no store at" in res.output and "init" in res.output
    assert not (tmp_path / "typo.lbug").exists()
    assert run("init", "--store", str(tmp_path / "new.lbug")).exit_code == 0


def test_a_refused_neo4j_connection_fails_in_seconds_with_the_fix(monkeypatch):
    import socket

    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("OWNERGRAPH_NEO4J_RETRY_SECONDS", raising=False)
    monkeypatch.setenv("OWNERGRAPH_NEO4J_CONNECT_SECONDS", "1")
    res = run("stats", "--store", f"bolt://127.0.0.1:{port}")
    assert res.exit_code == 2 and "is not reachable after 1s" in res.output
    assert "is the server running" in res.output and "Traceback" not in res.output


def test_a_wrong_neo4j_database_name_is_a_clear_error(neo4j_uri, monkeypatch):
    monkeypatch.setenv("NEO4J_DATABASE", "nosuchdb")
    res = run("stats", "--store", neo4j_uri)
    assert res.exit_code == 2 and "has no database 'nosuchdb'" in res.output


# ---- 7. evaluate with a hand-made truth folder ----


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("ad,owner\na1,o1\n", "lacks column(s) ad_id, owner_id"),
        ("", "not a readable CSV"),
    ],
)
def test_a_malformed_truth_folder_is_a_clear_error(tmp_path, content, needle):
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "ads.csv").write_text(content, encoding="utf-8")
    pred = tmp_path / "pred.csv"
    pred.write_text("ad_id,group_id\na1,g1\n", encoding="utf-8")
    res = run("evaluate", "--kind", "owners", "--truth", str(tmp_path), "--pred", str(pred))
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_truth_folder_without_payments_says_which_file(tmp_path):
    (tmp_path / "ads.csv").write_text("ad_id,owner_id,author_id,owner_kind\n", encoding="utf-8")
    pred = tmp_path / "pred.csv"
    pred.write_text("txid,ad_id\nt1,a1\n", encoding="utf-8")
    res = run("evaluate", "--kind", "payments", "--truth", str(tmp_path), "--pred", str(pred))
    assert res.exit_code == 2 and "payments.csv: missing from the truth folder" in res.output


# ---- 8. queries: ad-hoc Cypher, typed parameters, the same JSON on both stores ----

NUMERIC_IDS = [
    {"id": "1001", "title": "a", "body": "call 416 555 0199", "posted_at": "2017-07-18T14:29:00Z",
     "city": "Toronto", "state": "ON", "price_usd": 200},
    {"id": "1002", "title": "b", "body": "text 416.555.0199", "posted_at": "2017-07-19T09:05:00Z",
     "city": "Ottawa", "state": "ON"},
    {"id": "1003", "title": "c", "body": "call 702 555 0147", "posted_at": "2017-07-20T09:05:00Z",
     "city": "Las Vegas", "state": "NV"},
]  # fmt: skip


def _query_json(uri: str, *args: str) -> list:
    res = run("query", "--store", uri, "--json", *args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_adhoc_queries_give_the_same_json_on_both_stores(tmp_path, neo4j_store):
    path = tmp_path / "ads.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in NUMERIC_IDS), encoding="utf-8")
    emb = str(tmp_path / "g.lbug")
    for uri in (emb, neo4j_store.uri):
        res = run("load", "ads", str(path), "--store", uri, "--quarantine", str(tmp_path / "q"))
        assert res.exit_code == 0, res.output
    queries = [
        # a number given for a text key matches it (typed from the schema: Ad.id is text)
        ("MATCH (a:Ad {id: $id}) RETURN a.id AS id, a.posted_ts AS posted_ts, "
         "a.price_usd AS price", "id=1001"),
        ("MATCH (a:Ad) WHERE a.posted_ts >= $t RETURN count(a) AS n", "t=1500400000"),
        ("MATCH (a:Ad)-[:HAS_PHONE]->(p:Phone) WITH p, collect(a.id) AS ads "
         "RETURN p.number AS phone, ads, size(ads) AS n ORDER BY phone", None),
    ]  # fmt: skip
    for cypher, p in queries:
        args = ["--cypher", cypher, *(["-p", p] if p else [])]
        a, b = _query_json(emb, *args), _query_json(neo4j_store.uri, *args)
        assert a == b, cypher
    first = _query_json(emb, "--cypher", queries[0][0], "-p", "id=1001")
    assert first == [
        {"id": "1001", "posted_ts": 1500388140, "posted_ts_iso": "2017-07-18T14:29:00Z",
         "price": 200.0},
    ]  # fmt: skip
    assert _query_json(emb, "--cypher", queries[1][0], "-p", "t=1500400000") == [{"n": 2}]
    phones = _query_json(emb, "--cypher", queries[2][0])
    assert phones[0]["ads"] == ["1001", "1002"]  # lists sorted


@pytest.mark.parametrize("where", ["embedded", "neo4j"])
def test_adhoc_queries_are_read_only_unless_write(tmp_path, where, request):
    import gc

    # Open question for the embedded store (LadybugDB), in-process only (the CLI runs one
    # command per process): a garbage collection between these in-process commands was
    # seen to lose the --write (reproduced by a gc.collect() after an earlier test's
    # `init`). No collection runs between them, so the test does not depend on timing.
    uri = str(tmp_path / "g.lbug")
    if where == "neo4j":
        uri = request.getfixturevalue("neo4j_store").uri
    gc.disable()
    try:
        if where == "embedded":
            assert run("init", "--store", uri).exit_code == 0
        res = run("query", "--store", uri, "--cypher", "CREATE (:Phone {number: $n})",
                  "-p", "n=x1")  # fmt: skip
        assert res.exit_code == 1 and "read-only unless --write" in res.output
        res = run("query", "--store", uri, "--write", "--cypher", "CREATE (:Phone {number: $n})",
                  "-p", "n=x1")  # fmt: skip
        assert res.exit_code == 0, res.output
        rows = _query_json(uri, "--cypher", "MATCH (p:Phone) RETURN p.number AS n")
    finally:
        gc.enable()
    assert rows == [{"n": "x1"}], (res.output, res.stderr)


def test_a_query_that_matches_nothing_says_how_parameters_were_typed(tmp_path):
    uri = str(tmp_path / "g.lbug")
    assert run("init", "--store", uri).exit_code == 0
    res = run("query", "--store", uri, "--cypher", "MATCH (a:Ad {id: $id}) RETURN a.id", "-p",
              "id=42")  # fmt: skip
    assert res.exit_code == 0
    assert "no rows" in res.output and "$id = '42' (str, compared with .id)" in res.output
    res = run("query", "--store", uri, "--cypher", "MATCH (a:Ad) RETURN a.id", "-p", "x=1")
    assert res.exit_code == 2 and "not used by the query: x" in res.output
    res = run("query", "--store", uri, "--cypher",
              "MATCH (a:Ad) WHERE a.posted_ts > $t RETURN a.id", "-p", "t=soon")  # fmt: skip
    assert res.exit_code == 2 and "posted_ts is an integer" in res.output


def test_times_print_as_iso_in_tables(tmp_path):
    path = tmp_path / "ads.jsonl"
    path.write_text(json.dumps(NUMERIC_IDS[0]) + "\n", encoding="utf-8")
    uri = str(tmp_path / "g.lbug")
    assert run("load", "ads", str(path), "--store", uri, "--quarantine",
               str(tmp_path / "q")).exit_code == 0  # fmt: skip
    res = run("query", "--store", uri, "--cypher", "MATCH (a:Ad) RETURN a.posted_ts AS posted_ts")
    assert "2017-07-18T14:29:00Z" in res.output and "1500388140" not in res.output


# ---- 6. one command on your own files ----


def _edges(uri: str, rel: str, dst: str) -> list:
    from ownergraph.store.base import open_store

    with open_store(uri, create=False) as s:
        rows = s.query(f"MATCH (a:Ad)-[:{rel}]->(x:{dst}) RETURN a.id AS a, x.id AS x")
    return sorted((r["a"], r["x"]) for r in rows)


@pytest.mark.slow
def test_run_the_demo_pipeline_and_the_stage_commands_agree(tmp_path):
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel
    from ownergraph.pipeline import run_pipeline
    from ownergraph.store.embedded import EmbeddedStore
    from ownergraph.synth.world import generate_world

    world = tmp_path / "world"
    generate_world(world, n_ads=1500, seed=3)
    stages = ("ads", "bitcoin", "wallets", "payments", "authors", "owners")
    with EmbeddedStore(tmp_path / "demo.lbug") as s:
        run_pipeline(s, world, work_dir=tmp_path / "demo-run", stages=stages, seed=3)
    project = tmp_path / "project.toml"
    project.write_text(
        f"""
[store]
uri = "run.lbug"

[[ads]]
path = "{world / "ads.jsonl"}"

[bitcoin]
blocks = ["{world / "bitcoin" / "blocks.jsonl"}"]
mempool = ["{world / "bitcoin" / "mempool_first_seen.csv"}"]
processors = "{world / "bitcoin" / "processor_addresses.txt"}"
rates = "{world / "rates.csv"}"
prices = "{world / "prices.json"}"

[run]
seed = 3
work_dir = "work"
""",
        encoding="utf-8",
    )
    res = run("run", str(project))
    assert res.exit_code == 0, res.output
    demo, mine = str(tmp_path / "demo.lbug"), str(tmp_path / "run.lbug")
    assert _edges(demo, "WRITTEN_BY", "Author") == _edges(mine, "WRITTEN_BY", "Author")
    owners = _edges(demo, "BELONGS_TO", "Owner")
    assert owners and owners == _edges(mine, "BELONGS_TO", "Owner")
    # the stage command trains the same author model with the same pair cap and seed
    out = tmp_path / "cli_model.joblib"
    res = run("authors", "train", "--store", mine, "--seed", "3", "--max-train-pairs", "25000",
              "--out", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    a = PairwiseAuthorModel.load(tmp_path / "work" / "author_model.joblib")
    b = PairwiseAuthorModel.load(out)
    ea, eb = a.metadata_["evaluation"], b.metadata_["evaluation"]
    assert ea["model/all"] == eb["model/all"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[ads]]\npath = "nope.csv"\n', "input file not found"),
        ('[[ads]]\npath = "a.csv"\ncolour = 1\n', "unknown key(s) colour"),
        ('[[ads]]\npath = "a.csv"\n[run]\nstages = ["payments"]\n', "needs rates, prices"),
        ("[[ads]\n", "not valid TOML"),
        ('[run]\nstages = ["ads"]\n', "needs [[ads]] path"),
        ('[[ads]]\npath = "a.csv"\n[run]\nauthor_target_precision = 1.5\n', "not a number in"),
    ],
)
def test_a_bad_project_file_is_a_clear_error(tmp_path, text, needle):
    (tmp_path / "a.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    res = run("run", str(tmp_path / "p.toml"))
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output


def test_project_author_target_precision_is_read(tmp_path):
    from ownergraph.project import load_project

    (tmp_path / "a.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    (tmp_path / "p.toml").write_text(
        '[[ads]]\npath = "a.csv"\n[run]\nauthor_target_precision = 0.9\n', encoding="utf-8"
    )
    assert load_project(tmp_path / "p.toml").author_target_precision == 0.9


def test_input_hashes_are_reused_while_size_and_mtime_hold(tmp_path):
    import hashlib
    import os

    from ownergraph.project import AdInput, Project, input_files

    f, cache = tmp_path / "a.csv", tmp_path / "work" / "hashes.json"
    f.write_text("id,body\n1,x\n", encoding="utf-8")
    p = Project(ads=(AdInput(f),))
    first = input_files(p, cache=cache)[0]["sha256"]
    assert first == hashlib.sha256(f.read_bytes()).hexdigest() and cache.exists()
    # the cache is what is read while the size and mtime are unchanged ...
    cache.write_text(cache.read_text().replace(first, "f" * 64))
    assert input_files(p, cache=cache)[0]["sha256"] == "f" * 64
    # ... and a changed file is hashed again
    f.write_text("id,body\n2,y\n", encoding="utf-8")
    os.utime(f, ns=(0, 10**18))
    assert input_files(p, cache=cache)[0]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()


def test_run_loads_the_other_site_layout_from_a_project_file(tmp_path):
    (tmp_path / "p.toml").write_text(
        f"""
[store]
uri = "g.lbug"
[[ads]]
path = "{FIXTURE}"
country = "CA"
timezone = "America/Toronto"
[ads.map]
id = "Post ID"
title = "Ad Title"
body = "Description"
posted_at = "Posted"
city = "Location"
age = "Age"
url = "Ad URL"
[run]
stages = ["ads", "owners"]
""",
        encoding="utf-8",
    )
    res = run("run", str(tmp_path / "p.toml"))
    assert res.exit_code == 0, res.output
    assert "read=8, loaded=8, quarantined=0" in res.output
    rows = _edges(str(tmp_path / "g.lbug"), "BELONGS_TO", "Owner")
    assert len(rows) == 8


# ---- 5. nested JSON by path: the DIG/Memex dump with a preset, no script ----


@pytest.mark.realdata
def test_the_dig_jsonld_dump_loads_with_its_preset(shared_data, tmp_path):
    path = shared_data / "ads" / "dig_backpage_socal_lasvegas_2014.json"
    uri = str(tmp_path / "g.lbug")
    res = run("load", "ads", str(path), "--store", uri, "--preset", "dig-jsonld", "--country",
              "US", "--quarantine", str(tmp_path / "q.jsonl"))  # fmt: skip
    assert res.exit_code == 0, res.output
    # re-crawls of one Backpage ad with a new date are conflicting duplicates: named
    assert "quarantined 494: duplicate id: conflicts with an earlier record" in res.output
    rows = _query_json(uri, "--cypher", "MATCH (a:Ad) RETURN count(a) AS n")
    assert rows == [{"n": 2185}]
    cities = _query_json(
        uri, "--cypher", "MATCH (a:Ad) WHERE a.state IS NOT NULL RETURN a.state AS st, "
        "a.city AS city, count(a) AS n ORDER BY n DESC LIMIT 3"
    )  # fmt: skip
    assert {(c["st"], c["city"]) for c in cities} == {
        ("CA", "San Diego"), ("CA", "Los Angeles"), ("NV", "Las Vegas"),
    }  # fmt: skip


@pytest.mark.realdata
def test_the_backpage_csv_loads_as_it_is(shared_data, tmp_path):
    path = shared_data / "ads" / "backpage_women_seeking_men_california.csv"
    res = run("load", "ads", str(path), "--store", str(tmp_path / "g.lbug"), "--preset",
              "backpage-csv", "--set", "state=CA", "--quarantine", str(tmp_path / "q"))  # fmt: skip
    assert res.exit_code == 0, res.output
    row = next(line for line in res.stdout.splitlines() if "backpage" in line)
    assert [c.strip() for c in row.split("│")[2:5]] == ["6201", "6201", "0"]  # read, loaded, bad


# ---- 10. no traceback for an input mistake ----


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["load", "ads", "{tmp}/nope.csv"], "nope.csv"),
        (["load", "ads", "{tmp}"], "error:"),
        (["load", "ads", "{fixture}", "--map", "id"], "is not KEY=VALUE"),
        (["load", "ads", "{fixture}", "--map", "colour=Age"], "unknown ad field 'colour'"),
        (["load", "ads", "{fixture}", "--preset", "craigslist"], "unknown preset 'craigslist'"),
        (["load", "ads", "{fixture}", "--map", "id=Post ID", "--map", "body=Description",
          "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["query", "no_such_query", "--store", "{tmp}/g.lbug"], "unknown query"),
        (["query", "--cypher", "MATCH (a:Ad RETURN a", "--store", "{store}"], "error:"),
        (["evaluate", "--kind", "owners", "--truth", "{tmp}"], "no truth found"),
        (["authors", "train", "--ads", "{fixture}"], "no ad id"),
        (["run", "{tmp}/missing.toml"], "no such project file"),
    ],
)  # fmt: skip
def test_input_mistakes_get_a_message_not_a_traceback(tmp_path, args, needle):
    store = tmp_path / "s.lbug"
    assert run("init", "--store", str(store)).exit_code == 0
    args = [a.format(tmp=tmp_path, fixture=FIXTURE, store=store) for a in args]
    res = run(*args)
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert needle in res.output and "Traceback" not in res.output


def test_timezone_city_reads_each_ad_in_its_city_zone(embedded_store, tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        "id,body,posted_at,city,state\n"
        "t1,call 416 555 0199,2017-07-18 14:29,toronto,ON\n"
        "v1,call 604 555 0199,2017-07-18 14:29,vancouver,BC\n"
        "x1,call 604 555 0111,2017-07-18 14:29,nowhereville,BC\n"
        "z1,call 604 555 0122,2017-07-18T14:29:00+00:00,nowhereville,BC\n",
        encoding="utf-8",
    )
    s = load_ads(embedded_store, path, timezone="city")
    assert s.loaded == 4
    ts = {
        r["i"]: r["t"]
        for r in embedded_store.query("MATCH (a:Ad) RETURN a.id AS i, a.posted_ts AS t")
    }
    assert ts["t1"] == 1500388140 + 4 * 3600  # EDT
    assert ts["v1"] == 1500388140 + 7 * 3600  # PDT
    assert ts["x1"] is None and ts["z1"] == 1500388140  # no zone; an offset needs none
    assert any(r.startswith("posted_at: no time zone") for r in s.dropped)
