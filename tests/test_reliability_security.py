"""Security: read-only queries, parameters as data, keyed identifier digests, no raw
identifiers or credentials in console output, and redacted exports.

The quarantine file is the exception by design: it holds the rejected records as they
came (raw phone numbers included), because it is the analyst's own input data, kept so
that nothing is lost. It is written where the analyst says (``--quarantine``) and never
printed; console output names the file, line and reason only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_reliability_common import (
    ROOT,
    cli_env,
    dump,
    make_ads,
    run_cli,
    write_jsonl,
)
from typer.testing import CliRunner

from ownergraph.cli import app
from ownergraph.loaders.identifiers import hash_identifier
from ownergraph.store.base import open_store

SAMPLE = ROOT / "examples" / "sample_ads.jsonl"
SECRET = "some-secret-Zq8"
KEY = "an-hmac-key-shared-by-two-orgs"
runner = CliRunner()

TAG_QUERY = """// name: tag_ad
// description: Set the category of one ad (a query that writes).
// params: ad_id:str, category:str
MATCH (a:Ad {id: $ad_id}) SET a.category = $category RETURN a.id AS id, a.category AS category
"""


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_uri(request, tmp_path) -> str:
    """A store URI for the CLI, empty and with the schema, on both engines."""
    if request.param == "embedded":
        uri = str(tmp_path / "graph.lbug")
        with open_store(uri) as s:
            s.init_schema()
        return uri
    request.getfixturevalue("neo4j_store")  # wipes the database and creates the schema
    return request.getfixturevalue("neo4j_uri")


def cli(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def snapshot(uri: str) -> dict:
    with open_store(uri) as s:
        return dump(s)


# -- item 6: queries ----------------------------------------------------------------------


def test_a_writing_query_needs_write(store_uri, tmp_path):
    qdir = tmp_path / "queries"
    qdir.mkdir()
    (qdir / "tag_ad.cypher").write_text(TAG_QUERY)
    assert cli("load", "ads", str(SAMPLE), "--store", store_uri).exit_code == 0
    before = snapshot(store_uri)
    args = ["query", "tag_ad", "-p", "ad_id=s1", "-p", "category=x", "--store", store_uri]
    res = cli(*args, "--queries", str(qdir))
    assert res.exit_code == 1 and "error:" in res.stderr
    assert snapshot(store_uri) == before
    res = cli(*args, "--queries", str(qdir), "--write", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == [{"id": "s1", "category": "x"}]
    after = snapshot(store_uri)
    assert after != before and after["Ad"] != before["Ad"]
    assert {k: v for k, v in after.items() if k != "Ad"} == {
        k: v for k, v in before.items() if k != "Ad"
    }


def test_a_parameter_holding_cypher_is_data_even_with_write(store_uri, tmp_path):
    qdir = tmp_path / "queries"
    qdir.mkdir()
    (qdir / "tag_ad.cypher").write_text(TAG_QUERY)
    assert cli("load", "ads", str(SAMPLE), "--store", store_uri).exit_code == 0
    before = snapshot(store_uri)
    evil = "s1'}) DETACH DELETE a //"
    res = cli(
        "query",
        "ads_sharing_identifier",
        "-p",
        f"ad_id={evil}",
        "--store",
        store_uri,
        "--write",
        "--json",
    )
    assert res.exit_code == 0 and json.loads(res.stdout) == []
    assert snapshot(store_uri) == before
    evil = "x' WITH a MATCH (n) DETACH DELETE n //"
    res = cli(
        "query",
        "tag_ad",
        "-p",
        "ad_id=s2",
        "-p",
        f"category={evil}",
        "--store",
        store_uri,
        "--queries",
        str(qdir),
        "--write",
        "--json",
    )
    assert res.exit_code == 0
    with open_store(store_uri) as s:
        counts = {k: v for k, v in s.counts().items() if k != "Run"}  # `load ads` is audited
        assert counts == {k: len(v) for k, v in before.items()}
        assert s.query("MATCH (a:Ad {id: 's2'}) RETURN a.category AS c") == [{"c": evil}]


# -- item 7: keyed digests --------------------------------------------------------------


def true_phones(uri: str) -> set[str]:
    with open_store(uri) as s:
        return {r["n"] for r in s.query("MATCH (p:Phone) RETURN p.number AS n")}


def test_two_orgs_with_one_key_match_digests_and_store_no_raw_identifier(tmp_path):
    ads = make_ads(80, seed=11)
    a = write_jsonl(tmp_path / "org_a.jsonl", ads[:40])
    b = write_jsonl(tmp_path / "org_b.jsonl", ads[40:])
    stores = {name: str(tmp_path / f"{name}.lbug") for name in ("a", "b", "other", "pa", "pb")}
    keyed = {"OWNERGRAPH_HMAC_KEY": KEY}
    for name, path, env in (
        ("a", a, keyed),
        ("b", b, keyed),
        ("pa", a, None),
        ("pb", b, None),
        ("other", b, {"OWNERGRAPH_HMAC_KEY": KEY + "-other"}),
    ):
        res = cli("load", "ads", str(path), "--store", stores[name], env=env)
        assert res.exit_code == 0, res.output
    shared = true_phones(stores["pa"]) & true_phones(stores["pb"])
    assert len(shared) >= 5
    digests_a, digests_b = true_phones(stores["a"]), true_phones(stores["b"])
    assert digests_a & digests_b == {hash_identifier(p, KEY.encode()) for p in shared}
    assert not digests_a & true_phones(stores["other"])  # another key matches nothing
    # No raw identifier anywhere in the keyed store: every property of every node and edge.
    national = {p[2:] for p in true_phones(stores["pa"])}
    with open_store(stores["pa"]) as s:
        emails = {r["e"] for r in s.query("MATCH (e:Email) RETURN e.address AS e")}
    assert national and emails
    rendered = [r["body"].split("call ")[1].split(" no games")[0] for r in ads[:40]]
    values = [v for rows in snapshot(stores["a"]).values() for row in rows for v in row]
    strings = [v for v in values if isinstance(v, str)]
    assert len(strings) > 500
    for v in strings:
        digits = re.sub(r"\D", "", v)
        assert not any(n in digits for n in national), v
        assert not any(e in v.lower() or e.split("@")[0] in v.lower() for e in emails), v
        assert not any(r in v for r in rendered), v
    bodies = [v for v in strings if v.startswith("New in town")]
    assert len(bodies) == 40 and all("[phone]" in v for v in bodies)


# -- item 7: console output ---------------------------------------------------------------

PHONES = ["7025550147", "2135550123"]


def phone_pattern(digits: str) -> re.Pattern:
    return re.compile(r"\D{0,3}".join(digits))


def leaks(text: str) -> list[str]:
    return [p for p in PHONES if phone_pattern(p).search(text)] + re.findall(
        r"[\w.]+@example\.com", text
    )


def bad_records_with_identifiers(tmp_path: Path) -> Path:
    lines = [
        json.dumps({"id": "ok1", "body": "call 702-555-0147", "state": "NV"}),
        json.dumps({"id": "b1", "body": "x", "posted_at": "call 702-555-0147"}),
        json.dumps({"id": "b2", "body": "x", "state": "213 555 0123"}),
        json.dumps({"id": "b3", "body": "x", "age": "7025550147"}),
        '{"id": "b4", "body": "call 702.555.0147 or kandy@example.com"',
        json.dumps({"id": "ok1", "body": "now 213-555-0123 kandy@example.com"}),
        json.dumps(
            {
                "id": "b5",
                "body": "x",
                "posted_at": "2016-03-13T02:30:00",
                "name": "kandy@example.com",
            }
        ),
        json.dumps({"id": "b6", "body": "x\u0007 213.555.0123"}),
    ]
    path = tmp_path / "ads.jsonl"
    path.write_bytes(
        "\n".join(lines).encode() + b"\n" + b'{"id": "b7", "body": "\xe9 7025550147"}\n'
    )
    return path


@pytest.mark.parametrize("mode", ["plain", "hmac", "strict"])
def test_cli_output_shows_no_raw_identifier(tmp_path, mode):
    path = bad_records_with_identifiers(tmp_path)
    qpath = tmp_path / "q.jsonl"
    args = [
        "load",
        "ads",
        str(path),
        "--store",
        str(tmp_path / "g.lbug"),
        "--quarantine",
        str(qpath),
        "--timezone",
        "America/Los_Angeles",
    ]
    env = cli_env(OWNERGRAPH_HMAC_KEY=KEY) if mode == "hmac" else cli_env()
    res = run_cli(*args, *(["--strict"] if mode == "strict" else []), env=env)
    out = res.stdout + res.stderr
    assert res.returncode == (1 if mode == "strict" else 0), out
    assert leaks(out) == []
    if mode == "strict":
        assert f"{path}:2: posted_at" in " ".join(out.split())
        return
    # bad optional fields (a time, a state, an age holding a phone) are dropped, named by
    # field and reason only; the records with a bad id/text or format are quarantined
    assert "loaded without a field 1: posted_at: not a date" in out
    assert "loaded without a field 1: age: outside 0..120" in out
    assert "quarantined 1: malformed JSON" in out
    # By design the quarantine file keeps the rejected records whole (the analyst's data).
    held = qpath.read_text()
    assert len(held.splitlines()) == 4 and leaks(held)


# -- credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "bolt://127.0.0.1:1",
        f"bolt://neo4j:{SECRET}@127.0.0.1:1",
        f"neo4j://neo4j:{SECRET}@127.0.0.1:1",
        f"neo4j+bad://neo4j:{SECRET}@127.0.0.1:1",
    ],
)
def test_credentials_never_appear_in_output(tmp_path, uri):
    env = cli_env(NEO4J_PASSWORD=SECRET, OWNERGRAPH_NEO4J_RETRY_SECONDS="1")
    commands = [["stats"]]
    if "@" in uri and uri.startswith("bolt"):
        commands += [["load", "ads", str(SAMPLE)], ["query", "ads_per_phone"]]
    for args in commands:
        res = run_cli(*args, "--store", uri, env=env, timeout=120)
        out = res.stdout + res.stderr
        assert res.returncode == 2, out
        assert SECRET not in out
        assert out.startswith("error:") and "Traceback" not in out


def test_a_traceback_shows_no_locals_and_no_secret(tmp_path):
    env = cli_env(NEO4J_PASSWORD=SECRET, OWNERGRAPH_NEO4J_RETRY_SECONDS="soon")
    res = run_cli("stats", "--store", "bolt://127.0.0.1:1", env=env, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 1 and "ValueError" in out  # an unexpected error: a traceback
    assert SECRET not in out and not re.search(r"─ locals ─", out)


def test_log_records_pass_through_the_redacting_filter():
    import io
    import logging

    from ownergraph.logging_setup import RedactingFilter

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter(secrets=(SECRET,)))
    log = logging.getLogger("ownergraph.test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("to %s at bolt://neo4j:%s@host pw=%s", "kandy@example.com", SECRET, SECRET)
        log.warning("call 702-555-0147 or (213) 555 0123, 12 ads")
        try:
            raise RuntimeError(f"bad password {SECRET}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    out = buf.getvalue()
    assert SECRET not in out and leaks(out) == [] and "Traceback" not in out
    assert out.count("[redacted]") == 5 and "12 ads" in out


def test_driver_debug_logs_show_no_secret(neo4j_uri):
    env = cli_env(
        NEO4J_PASSWORD=SECRET, OWNERGRAPH_LOG_LEVEL="DEBUG", OWNERGRAPH_NEO4J_RETRY_SECONDS="5"
    )
    res = run_cli("stats", "--store", neo4j_uri, env=env, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode in (0, 2), out  # 2 when the server checks (and refuses) the password
    assert "neo4j" in res.stderr and "DEBUG" in res.stderr  # the driver's logs were shown
    assert SECRET not in out


# -- export ---------------------------------------------------------------------------------

SAMPLE_RAW = [
    "702-555-0147",
    "702.555.0147",
    "seven0two 555 0147",
    "(702)5550147",
    "214*555*0199",
    "jadekandy",
    "rose.garden",
    "⑦⓪② 555 ⓪①④⑦",
    "5550147",
]


def make_owner(uri: str) -> None:
    with open_store(uri) as s:
        s.upsert_nodes("Owner", [{"id": "o1", "ads": 5}, {"id": "o2", "ads": 1}])
        s.upsert_edges(
            "BELONGS_TO",
            [
                {"src": f"s{i}", "dst": "o1", "method": "test", "confidence": 1.0}
                for i in (1, 2, 3, 4, 5)
            ]
            + [{"src": "s9", "dst": "o2", "method": "test", "confidence": 1.0}],
        )


def read_lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_export_of_an_owner_group_with_identifiers_redacted(store_uri, tmp_path):
    assert cli("load", "ads", str(SAMPLE), "--store", store_uri).exit_code == 0
    make_owner(store_uri)
    out = tmp_path / "o1.jsonl"
    res = cli("export", "--owner", "o1", "--out", str(out), "--redact", "--store", store_uri)
    assert res.exit_code == 0, res.output
    recs = read_lines(out)
    assert [r["id"] for r in recs] == ["s1", "s2", "s3", "s4", "s5"]
    assert all(r["owner"] == "o1" and r["redacted"] for r in recs)
    text = out.read_text()
    assert [raw for raw in SAMPLE_RAW if raw in text] == []
    assert not re.search(r"\+1\d{10}|@example", text)
    labels = {r["id"]: [p["value"] for p in r["phones"]] for r in recs}
    assert labels["s1"] == labels["s2"] == labels["s3"] == labels["s4"] != labels["s5"]
    assert "[phone]" in recs[0]["body"] and recs[0]["posted_at"].startswith("2016-03-02T04:15")
    # Unredacted export of the same group keeps the values, for the analyst's own use.
    plain = tmp_path / "plain.jsonl"
    assert cli("export", "--owner", "o1", "--out", str(plain), "--store", store_uri).exit_code == 0
    assert read_lines(plain)[0]["phones"][0]["value"] == "+17025550147"


def test_export_with_a_key_labels_identifiers_by_digest(tmp_path):
    uri = str(tmp_path / "g.lbug")
    assert cli("load", "ads", str(SAMPLE), "--store", uri).exit_code == 0
    make_owner(uri)
    env = {"OWNERGRAPH_HMAC_KEY": KEY}
    for n in (1, 2):
        args = ["export", "--ad", "s1", "--ad", "s6", "--out", str(tmp_path / f"e{n}.jsonl")]
        assert cli(*args, "--redact", "--store", uri, env=env).exit_code == 0
    e1, e2 = read_lines(tmp_path / "e1.jsonl"), read_lines(tmp_path / "e2.jsonl")
    assert e1 == e2 and e1[0]["phones"][0]["value"].startswith("[phone] ")
    assert e1[0]["phones"][0]["value"] != e1[1]["phones"][0]["value"]
    assert e1[1]["owner"] is None


def test_export_names_what_is_missing_and_leaves_no_file(tmp_path):
    uri = str(tmp_path / "g.lbug")
    assert cli("load", "ads", str(SAMPLE), "--store", uri).exit_code == 0
    out = tmp_path / "e.jsonl"
    res = cli("export", "--owner", "nobody", "--out", str(out), "--store", uri)
    assert res.exit_code == 2 and "no Owner with id 'nobody'" in res.stderr
    res = cli("export", "--ad", "s1", "--ad", "s99", "--out", str(out), "--store", uri)
    assert res.exit_code == 2 and "s99" in res.stderr
    assert not out.exists() and list(tmp_path.glob("e.jsonl*")) == []
    res = cli("export", "--out", str(out), "--store", uri)
    assert res.exit_code == 2
