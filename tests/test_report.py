"""Case reports: parsed as HTML (self-contained, redacted) and used in headless Chromium.

The Chromium tests open the report of the demo world's top group (the largest) and of a
small group, check that the map, the movement path, the per-link table and the interactive
graph are drawn, click a hub, export the links, check that emoji render in colour, and keep
screenshots in test-artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, chromium_or_skip
from test_owners_world import build_world

from ownergraph.export import export_records
from ownergraph.movement import stays
from ownergraph.redaction import Redactor
from ownergraph.report import build_report, write_index, write_report
from ownergraph.report_data import evidence_links
from ownergraph.stages.owners import detect_owners, list_owners
from ownergraph.store.embedded import EmbeddedStore

RAW_FORMS = ("+17025550147", "7025550147", "(702) 555-0147", "555-0147", "+16025550199",
             "(602) 555-0199", "kandy.vip@example.com", "kandy.vip")  # fmt: skip


class Page(HTMLParser):
    """Tags, attributes, ids and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}


def page_data(text: str) -> dict:
    raw = re.search(r'<script type="application/json" id="case-data">(.*?)</script>', text, re.S)
    return json.loads(raw.group(1))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    store = EmbeddedStore(tmp_path_factory.mktemp("report") / "g.lbug")
    store.init_schema()
    build_world(store)
    store.upsert_nodes(
        "Ad", [{"id": "a1", "url": "http://lasvegas.example.com/escorts/call-7025550147/98765"}]
    )
    # the processor address the group's wallet paid carries a service tag
    store.upsert_nodes(
        "Service", [{"id": "svc:example-processor", "label": "Example Processor",
                     "category": "payment_processor"}]
    )  # fmt: skip
    store.upsert_edges(
        "TAGGED", [{"src": "Z", "dst": "svc:example-processor", "source": "case file 12",
                    "level": "manual", "cluster_definer": False, "pack": "case",
                    "method": "tag:case", "confidence": 0.9}]
    )  # fmt: skip
    detect_owners(store, calibrate=False)  # the tiny world is too small to calibrate on
    top = list_owners(store, limit=1)[0]["id"]
    yield store, top
    store.close()


def test_the_page_is_self_contained_and_complete(world):
    store, top = world
    text = build_report(store, top)
    page = Page(text)
    tags = {t for t, _ in page.tags}
    assert not tags & {"link", "iframe", "img", "object", "embed", "base", "form"}
    for tag, attrs in page.tags:
        assert "src" not in attrs and "action" not in attrs, (tag, attrs)
        href = attrs.get("href")
        if href is not None and not href.startswith("#"):  # only the ads' own postings
            assert tag == "a" and attrs.get("rel") == "noreferrer noopener", href
            assert href == "http://lasvegas.example.com/escorts/call-7025550147/98765"
    csp = next(a["content"] for t, a in page.tags if a.get("http-equiv"))
    assert "default-src 'none'" in csp and "connect-src" not in csp  # no fetch of any kind
    assert {"owner-id", "score", "flags", "reasons", "indicators", "map", "map-svg", "movement",
            "stays", "timeline", "places", "evidence-graph", "cy", "node-panel", "links",
            "identifiers", "wallets", "services", "ads", "exports"} <= page.ids()  # fmt: skip
    # the tagged service the group's wallet paid, with the tag's source and confidence
    assert [(r["wallet"], r["direction"], r["service"], r["source"], r["confidence"], r["txs"],
             r["sat"]) for r in page_data(text)["service_tags"]] == [
        ("W1", "paid", "Example Processor", "case file 12", 0.9, 2, 250_000)
    ]  # fmt: skip
    services = re.search(r'<div id="services-table">(.*?)</div>', text, re.S).group(1)
    assert services.count("<tr>") == 1 + 1
    for cell in ("Example Processor", "payment_processor", "case file 12", "0.90",
                 "0.00250000", "address tag"):  # fmt: skip
        assert f"<td>{cell}</td>" in services, cell
    body = " ".join(page.text)
    for fact in ("many people", "posted in 3 states (AZ, CA, NV)", "Las Vegas", "San Diego",
                 "+17025550147", "W1", "Kandy here, call"):  # fmt: skip
        assert fact in body
    ad_rows = re.search(r'<div id="ads" class="scroll">(.*?)</div>', text, re.S).group(1)
    assert ad_rows.count("<tr>") == 1 + 6  # header + the group's six ads
    data = page_data(text)
    # every join inside group A: P1 x3, P2 x2, E1 x2, U1 x2, U3 x1 (a6), W1 x2 (T1, T2)
    kinds = [r["kind"] for r in data["links"]]
    assert sorted(kinds) == sorted(["phone"] * 5 + ["email"] * 2 + ["author"] * 3 + ["wallet"] * 2)
    assert text.count('<tr data-kind="') == 12
    u3 = next(r for r in data["links"] if r["value"] == "U3")
    assert u3["ad"] == "a6" and u3["confidence"] == 0.1
    assert u3["precision"] == {"value": None, "source": "not measured"}  # no Author model here
    # the stays in time order: Las Vegas (day 0), Phoenix (day 1), San Diego (day 3)
    assert [s["city"] for s in data["stays"]] == ["Las Vegas", "Phoenix", "San Diego"]
    assert [p["city"] for p in data["places"]][:2] == ["Las Vegas", "Phoenix"]  # by first ad
    assert all(p["lat"] is not None for p in data["places"])  # all in the gazetteer


def test_soft_link_precision_is_shown_when_measured(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "g.lbug")
    store.init_schema()
    try:
        build_world(store)
        store.upsert_nodes("Author", [{"id": "U1", "expected_precision": 0.87, "threshold": 0.5}])
        detect_owners(store, calibrate=False)  # the tiny world is too small to calibrate on
        top = list_owners(store, limit=1)[0]["id"]
        links = evidence_links(store, top)
    finally:
        store.close()
    u1 = [r for r in links if r["hub"] == "U1"]
    assert len(u1) == 2 and all(r["precision"]["value"] == 0.87 for r in u1)
    assert "random held-out pairs" in u1[0]["precision"]["source"]
    assert all(r["precision"]["source"] == "not measured" for r in links if r["kind"] == "wallet")


def test_redaction_leaves_no_raw_identifier(world, tmp_path: Path):
    store, top = world
    path = write_report(store, top, tmp_path / "case.html", redact=True)
    text = path.read_text(encoding="utf-8")
    for raw in RAW_FORMS:
        assert raw not in text, raw
    assert "[phone]" in text and "[email]" in text and 'id="redaction"' in text
    data = page_data(text)
    assert data["redacted"] is True
    a1 = next(a for a in data["ads"] if a["ad"] == "a1")
    assert a1["url"] == "http://lasvegas.example.com/escorts/call-[phone]/98765"  # id kept
    keyed = build_report(store, top, redact=True, hmac_key=b"k" * 32)
    digests = set(re.findall(r"\[phone\] ([0-9a-f]{10})", keyed))
    assert len(digests) == 2  # two phones, told apart by keyed digests
    for raw in RAW_FORMS:
        assert raw not in keyed


def test_redacted_export_keeps_the_ad_id_in_the_url(world):
    store, _ = world
    (rec,) = export_records(store, ["a1"], redact=True)
    assert rec["url"] == "http://lasvegas.example.com/escorts/call-[phone]/98765"
    (plain,) = export_records(store, ["a1"])
    assert plain["url"].endswith("/call-7025550147/98765")


def test_redactor_finds_obfuscated_and_repeated_identifiers():
    red = Redactor(True)
    text = red.text("call 702-555-0147 or seven0two 555 0147, again 702.555.0147; x@y.com")
    assert "0147" not in text and "seven" not in text and "x@y.com" not in text
    assert text.count("[phone]") == 3 and "[email]" in text
    assert Redactor(False).text("702-555-0147") == "702-555-0147"
    # a trailing number that is the ad's own phone is masked; another number is the ad id
    assert red.url("http://x.example/ads/7025550147", ["+17025550147"]) == (
        "http://x.example/ads/[phone]"
    )
    assert red.url("http://x.example/ads/13262005?c=7025550147", []) == (
        "http://x.example/ads/13262005?c=[phone]"
    )


def test_stays_follow_the_main_city_of_each_day():
    day = 86_400
    ads = [
        {"posted_ts": 10, "city": "A", "state": "X"},
        {"posted_ts": day + 1, "city": "B", "state": "X"},
        {"posted_ts": day + 2, "city": "A", "state": "X"},
        {"posted_ts": day + 3, "city": "B", "state": "X"},
        {"posted_ts": 3 * day, "city": "B", "state": "X"},  # a day without ads in between
        {"posted_ts": 4 * day, "city": "A", "state": "X"},
        {"posted_ts": None, "city": "C", "state": "X"},  # no time: not on the path
    ]
    path = stays(ads)
    assert [(s.city, s.days, s.ads) for s in path] == [("A", 1, 1), ("B", 2, 3), ("A", 1, 1)]


def test_unknown_owner_is_a_clear_error(world):
    store, _ = world
    with pytest.raises(LookupError, match="no owner group with id 'O-x'"):
        build_report(store, "O-x")


def test_index_links_the_top_groups(world, tmp_path: Path):
    store, top = world
    index = write_index(store, tmp_path / "reports", top=2)
    page = Page(index.read_text(encoding="utf-8"))
    hrefs = [a["href"] for t, a in page.tags if t == "a"]
    assert hrefs[0] == f"{top}.html" and len(hrefs) == 2
    for h in hrefs:
        report = (tmp_path / "reports" / h).read_text(encoding="utf-8")
        assert '<a href="index.html">' in report


# -- in headless Chromium ------------------------------------------------------------


def _moves_on_map(data: dict) -> int:
    placed = {(p["city"], p["state"]) for p in data["places"] if p["lat"] is not None}
    path = [(s["city"], s["state"]) for s in data["stays"]]
    return sum(1 for a, b in zip(path, path[1:], strict=False) if a in placed and b in placed)


EMOJI_PROBE = """(text) => {
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.font = '40px ' + getComputedStyle(document.body).fontFamily;
  g.fillStyle = '#000'; g.fillText(text, 4, 48);
  const px = g.getImageData(0, 0, 64, 64).data;
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4) {
    const [r, gg, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
    if (a > 0 && Math.max(r, gg, b) - Math.min(r, gg, b) > 40) coloured++;
  }
  return coloured;
}"""


def open_report(path: Path, shot: str, *, click_hub: bool = True) -> dict:
    """Open a report, check it drew, click its busiest hub, export links; facts for asserts."""
    sync_playwright = chromium_or_skip()
    data = page_data(path.read_text(encoding="utf-8"))
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    out: dict = {"data": data}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready]", timeout=60_000)
            out["error"] = page.evaluate("document.body.dataset.error || ''")
            page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
            out["states"] = page.locator("#map-svg path.state").count()
            out["state_paths_drawn"] = page.evaluate(
                "Array.from(document.querySelectorAll('#map-svg path.state'))"
                ".filter(p => p.getAttribute('d').length > 20).length"
            )
            out["cities"] = page.locator("#map-svg circle.city").count()
            out["moves"] = page.locator("#map-svg path.move").count()
            out["link_rows"] = page.locator("#links tbody tr").count()
            out["cy_nodes"] = page.evaluate("window.ownergraphCy.nodes().length")
            out["cy_edges"] = page.evaluate("window.ownergraphCy.edges().length")
            out["canvas"] = page.locator("#cy canvas").count()
            page.locator("#map").screenshot(path=str(ARTIFACTS / f"{shot}-map.png"))
            page.locator("#movement").screenshot(path=str(ARTIFACTS / f"{shot}-movement.png"))
            if click_hub:
                hub = max(data["hubs"], key=lambda h: (h["ads"], h["id"]))
                out["hub"] = hub
                page.locator("#evidence-graph").scroll_into_view_if_needed()
                pos = page.evaluate(
                    "(id) => window.ownergraphCy.getElementById(id).renderedPosition()", hub["id"]
                )
                box = page.locator("#cy").bounding_box()
                page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
                page.wait_for_selector("#node-panel[data-node]", timeout=10_000)
                out["panel_node"] = page.get_attribute("#node-panel", "data-node")
                out["panel_rows"] = page.locator("#node-panel tbody tr").count()
                page.locator("#evidence-graph").screenshot(
                    path=str(ARTIFACTS / f"{shot}-graph-clicked.png")
                )
            page.fill("#link-filter", "wallet")
            out["filtered_count"] = page.inner_text("#link-count")
            page.fill("#link-filter", "")
            with page.expect_download() as dl:
                page.click("#export-links-csv")
            out["links_csv"] = Path(dl.value.path()).read_text(encoding="utf-8")
            out["links_csv_name"] = dl.value.suggested_filename
            with page.expect_download() as dl:
                page.click("#export-ads-json")
            out["ads_json"] = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
            out["emoji_pixels"] = page.evaluate(EMOJI_PROBE, "\U0001f6c1\U0001f48b")
            out["visible"] = page.locator("body").inner_text()
            out["service_rows"] = page.locator("#services-table tbody tr").count()
            out["services_text"] = page.locator("#services-table").inner_text()
        finally:
            browser.close()
    out["requests"] = [r for r in requests if not r.startswith("blob:")]
    return out


@pytest.mark.browser
def test_the_tiny_report_works_in_chromium(world, tmp_path: Path):
    store, top = world
    path = write_report(store, top, tmp_path / "case.html", redact=True)
    r = open_report(path, "case-report-tiny")
    d = r["data"]
    assert r["error"] == "" and r["requests"] == [path.as_uri()]  # nothing else fetched
    assert r["states"] >= 50 and r["state_paths_drawn"] >= 50
    assert r["cities"] == 4 and r["moves"] == 2  # Las Vegas -> Phoenix -> San Diego
    assert r["link_rows"] == 12 and r["cy_nodes"] == 6 + len(d["hubs"]) and r["canvas"] > 0
    assert r["panel_node"] == r["hub"]["id"] and r["panel_rows"] == r["hub"]["ads"]
    assert r["filtered_count"] == "2 of 12 links"
    rows = list(csv.DictReader(io.StringIO(r["links_csv"])))
    assert len(rows) == 12 and rows[0].keys() >= {"ad", "kind", "value", "method", "confidence"}
    assert r["links_csv_name"] == f"{top}-redacted-links.csv"
    assert len(r["ads_json"]) == 6
    assert r["service_rows"] == 1  # the tagged processor, shown with its tag's provenance
    assert "Example Processor" in r["services_text"] and "case file 12" in r["services_text"]
    for raw in RAW_FORMS:
        assert raw not in r["visible"] and raw not in r["links_csv"], raw
        assert raw not in json.dumps(r["ads_json"]), raw


@pytest.mark.browser
def test_the_demo_top_group_report_handles_the_largest_group(demo_store, tmp_path: Path):
    # the largest group of the demo world whose ads carry emoji (groups of 30-70 ads on the
    # calibrated world, where owner groups no longer merge many owners): every ad drawn
    emoji = re.compile("[\U0001f300-\U0001faff]")
    q = "MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $id}) RETURN a.body AS body"
    top = next(
        g
        for g in list_owners(demo_store, sort="ads", limit=20)
        if any(emoji.search(r["body"] or "") for r in demo_store.query(q, {"id": g["id"]}))
    )
    assert top["ads"] >= 30
    path = write_report(demo_store, top["id"], tmp_path / "top.html")
    r = open_report(path, "case-report-demo-top")
    d = r["data"]
    assert r["error"] == "" and r["requests"] == [path.as_uri()]
    assert len(d["ads"]) == top["ads"] + top["reposts"]  # reposts are listed, counted once
    assert r["cy_nodes"] == len(d["ads"]) + len(d["hubs"])  # every ad drawn
    assert r["cy_edges"] == len({(x["ad"], x["node"]) for x in d["links"]})
    placed = sum(1 for p in d["places"] if p["lat"] is not None)
    assert placed == len(d["places"]) and r["cities"] == placed  # every demo city located
    assert r["moves"] == _moves_on_map(d) > 0
    assert r["link_rows"] == len(d["links"]) == len(evidence_links(demo_store, top["id"]))
    assert r["panel_node"] == r["hub"]["id"] and r["panel_rows"] == r["hub"]["ads"]
    assert len(list(csv.DictReader(io.StringIO(r["links_csv"])))) == len(d["links"])
    # the group's ads carry emoji; they must draw in colour (a colour emoji font is present)
    assert any(re.search("[\U0001f300-\U0001faff]", a["body"] or "") for a in d["ads"])
    assert r["emoji_pixels"] > 50, "emoji render without colour: install fonts-noto-color-emoji"


@pytest.mark.browser
def test_a_small_demo_group_report(demo_store, tmp_path: Path):
    groups = list_owners(demo_store, sort="score", limit=400, min_ads=3)
    small = next(g for g in groups if 3 <= g["ads"] <= 8 and g["cities"] >= 2)
    path = write_report(demo_store, small["id"], tmp_path / "small.html", redact=True)
    r = open_report(path, "case-report-demo-small")
    d = r["data"]
    assert r["error"] == "" and r["requests"] == [path.as_uri()]
    assert r["cy_nodes"] == small["ads"] + len(d["hubs"])
    assert r["cities"] == len(d["places"]) and r["moves"] == _moves_on_map(d)
    assert r["link_rows"] == len(d["links"]) > 0


def test_gazetteer_places_cities_and_regions():
    from ownergraph.geo import locate

    la = locate("losangeles", "CA")  # a site subdomain
    assert la and la.gazetteer_name == "Los Angeles" and abs(la.lat - 34.05) < 0.1
    assert locate("St. Louis", "MO") and locate("Saint Louis", "mo")
    island = locate("Long Island", "NY")  # a region, not Long Island City (Queens)
    assert island and island.approximate and island.gazetteer_name == "Hempstead"
    assert locate("Nowhere Town", "CA") is None and locate("Chicago", None) is None
