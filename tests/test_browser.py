"""Neo4j Browser in headless Chromium: the ownergraph guide and style on the demo world.

Needs the dev Neo4j (neo4j-dev/, which also serves Neo4j Browser), Debian's chromium, and
the Python ``playwright`` package (driving /usr/bin/chromium; it never downloads a
browser). The guide is served from a random port of its own, so nothing in it may depend on
a host or port (``./scripts/test`` also runs Browser on a non-default port). Screenshots
land in test-artifacts/.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ownergraph.store.schema import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "browser"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The Browser allows :guide from its allowlist; "localhost" (any port) is on the default one.
BROWSER_URL = os.environ.get(
    "NEO4J_BROWSER_URL", f"http://localhost:{os.environ.get('NEO4J_DEV_BROWSER_PORT', '7474')}"
)
OWNER_COLOUR = "#DA7194"  # node.Owner in browser/ownergraph.grass
# The summary slide's virtual relationship types (one per hub kind).
SUMMARY_TYPES = ("USES_PHONE", "USES_EMAIL", "WRITES_AS", "PAID_FROM", "POSTS_IN")
DEMO_NEO4J_ADS = 3_000  # ownergraph demo --ads 3000 (seed 1): smaller than the default

pytestmark = [pytest.mark.browser]


def chromium_or_skip():
    """The playwright sync API, or a skip naming what is missing."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed")
    return sync_playwright


def guide_blocks() -> list[str]:
    """The runnable blocks of the guide, as Browser puts them into its editor."""
    text = (BROWSER_DIR / "guide.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<pre class="pre-scrollable code runnable"[^>]*>(.*?)</pre>', text, re.S)
    return [html.unescape(re.sub(r"<!--.*?-->", "", b, flags=re.S)).strip() for b in blocks]


def grass_blocks(grass: str) -> dict[str, str]:
    return dict(re.findall(r"^((?:node|relationship)(?:\.\w+)?) \{\n(.*?)^\}", grass, re.M | re.S))


def test_style_covers_every_label_and_relationship_type():
    blocks = grass_blocks((BROWSER_DIR / "ownergraph.grass").read_text(encoding="utf-8"))
    for node in SCHEMA.nodes:
        body = blocks[f"node.{node.label}"]
        assert "color: #" in body and 'caption: "{' in body, node.label
    for rel in [r.type for r in SCHEMA.rels] + list(SUMMARY_TYPES):
        body = blocks[f"relationship.{rel}"]
        assert "color: #" in body and "caption:" in body, rel
    for rel in SUMMARY_TYPES:
        assert 'caption: "{ads} ads"' in blocks[f"relationship.{rel}"]
    assert 'caption: "{id} {city}"' in blocks["node.Ad"]  # a short ad id with its city


def test_guide_carries_the_style_and_names_no_host():
    grass = (BROWSER_DIR / "ownergraph.grass").read_text(encoding="utf-8")
    blocks = guide_blocks()
    assert blocks[0] == ":style\n" + grass.strip()  # browser/embed_style.py keeps them equal
    text = (BROWSER_DIR / "guide.html").read_text(encoding="utf-8")
    assert not re.search(r"localhost|127\.0\.0\.1|:7474|https?://", text)
    assert text.count("<slide") == text.count("</slide>") >= 10


# -- on the demo world in a real Neo4j -------------------------------------------------


@pytest.fixture(scope="module")
def demo_neo4j(neo4j_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo world (3,000 ads) in the test Neo4j; yields the Bolt URI."""
    from conftest import DEMO_SEED, _wipe, build_demo

    from ownergraph.store.neo4j import Neo4jStore

    store = Neo4jStore(neo4j_uri)
    try:
        _wipe(store)
        store.init_schema()
        folder = tmp_path_factory.mktemp("demo-neo4j")
        build_demo(folder, store, DEMO_NEO4J_ADS, DEMO_SEED)
        if not store.query("MATCH (u:Author) RETURN u.id LIMIT 1"):
            # The default cut (a target precision among candidate pairs) links nothing on
            # this small world; the guide's author examples need Authors to run on, so link
            # at the model's FPR-1 % cut, as a user can, and detect owners again.
            from ownergraph.linking.stylometry.model import PairwiseAuthorModel
            from ownergraph.stages.authors import link_authors
            from ownergraph.stages.owners import detect_owners

            model = PairwiseAuthorModel.load(folder / "run" / "author_model.joblib")
            link_authors(store, model, target_fpr=0.01, n_jobs=1, model_name="browser-test")
            detect_owners(store, seed=DEMO_SEED)
    finally:
        store.close()
    yield neo4j_uri


def run_guide(uri: str) -> list[tuple[str, list[dict]]]:
    """Every guide block run as Browser runs it (``:param x => e`` is ``RETURN e AS x``)."""
    from neo4j import GraphDatabase

    params: dict = {}
    out = []
    with GraphDatabase.driver(uri) as driver, driver.session() as s:
        for block in guide_blocks()[1:]:
            m = re.fullmatch(r":param (\w+) => (.*)", block, re.S)
            if m:
                params[m.group(1)] = s.run(f"RETURN {m.group(2)} AS v").single()["v"]
                rows = [{"v": params[m.group(1)]}]
            else:
                rows = [dict(r.items()) for r in s.run(block, params)]
            out.append((block, rows))
    return out


def top_group_hubs(uri: str) -> dict:
    """The top group's id, phones (number -> ads) and its hubs of every kind."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(uri) as driver, driver.session() as s:
        top = s.run("MATCH (o:Owner) RETURN o.id AS id ORDER BY o.score DESC, o.id LIMIT 1")
        owner = top.single()["id"]
        member = "MATCH (o:Owner {id: $id})<-[:BELONGS_TO]-(a:Ad) "
        phones = {
            r["k"]: r["n"]
            for r in s.run(
                member + "MATCH (a)-[:HAS_PHONE]->(h) RETURN h.number AS k, count(a) AS n",
                id=owner,
            )
        }
        n = {}
        for kind, pattern in (
            ("email", "(a)-[:HAS_EMAIL]->(h)"),
            ("author", "(a)-[:WRITTEN_BY]->(h)"),
            ("wallet", "(a)<-[:PAID_FOR]-()<-[:SPENT_IN]-()-[:IN_WALLET]->(h)"),
            ("location", "(a)-[:POSTED_IN]->(h)"),
        ):
            q = member + f"MATCH {pattern} RETURN count(DISTINCT h) AS n"
            n[kind] = s.run(q, id=owner).single()["n"]
        ads = s.run(member + "RETURN count(a) AS n", id=owner).single()["n"]
    return {"owner": owner, "phones": phones, "ads": ads, **n}


def test_every_guide_example_runs_on_the_demo_world(demo_neo4j: str):
    results = run_guide(demo_neo4j)
    for block, rows in results:
        assert rows and all(v is not None for v in rows[0].values()), block
    hubs = top_group_hubs(demo_neo4j)
    summary = next(rows for block, rows in results if "USES_PHONE" in block)
    # one row per hub: every phone, e-mail, author, wallet and city of the group
    assert len(summary) == len(hubs["phones"]) + sum(
        hubs[k] for k in ("email", "author", "wallet", "location")
    )
    assert len(summary) + 1 < 300  # Browser's initial node display
    assert hubs["ads"] > len(summary)  # the summary is smaller than the group
    path = next(rows for block, rows in results if "shortestPath" in block)
    assert len(path) == 1  # the top group's first and last ad are linked


@pytest.fixture(scope="module")
def guide_server() -> Iterator[str]:
    """browser/ served on a random localhost port by browser/serve.py."""
    sys.path.insert(0, str(BROWSER_DIR))
    try:
        from serve import make_server
    finally:
        sys.path.remove(str(BROWSER_DIR))
    server = make_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def node_captions(page) -> list[str]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('svg g.node')).map(g => "
        "Array.from(g.querySelectorAll('text.caption, text')).map(t => t.textContent.trim())"
        ".filter(Boolean).join(' '))"
    )


def zoomed_shot(page, on_text: str, path: Path) -> None:
    """Zoom the graph in (Ctrl + wheel) around the node showing ``on_text``; save the view."""
    graph = page.locator("svg:has(g.node)").first  # the newest result frame is on top
    view = graph.bounding_box()
    node = graph.locator("g.node", has_text=on_text).first.bounding_box()
    page.mouse.move(node["x"] + node["width"] / 2, node["y"] + node["height"] / 2)
    page.keyboard.down("Control")
    for _ in range(4):
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(200)
    page.keyboard.up("Control")
    page.wait_for_timeout(800)
    size = page.viewport_size
    view["width"] = min(view["width"], size["width"] - view["x"])
    view["height"] = min(view["height"], size["height"] - view["y"])
    page.screenshot(path=str(path), clip=view)


def test_browser_guide_summary_and_drill_down(demo_neo4j: str, guide_server: str):
    sync_playwright = chromium_or_skip()
    try:
        urllib.request.urlopen(f"{BROWSER_URL}/browser/", timeout=10).read()
    except OSError as exc:
        pytest.skip(f"Neo4j Browser is not served at {BROWSER_URL}: {exc}")
    hubs = top_group_hubs(demo_neo4j)
    guide = run_guide(demo_neo4j)
    summary_rows = next(rows for block, rows in guide if "USES_PHONE" in block)
    summary_counts = [r["edge"]["ads"] for r in summary_rows]
    bolt = urlparse(demo_neo4j)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(
                f"{BROWSER_URL}/browser/?dbms=bolt://{bolt.hostname}:{bolt.port}"
                "&preselectAuthMethod=NO_AUTH"
            )
            page.wait_for_selector("text=Connected to Neo4j", timeout=90_000)
            editor = page.locator(".monaco-editor").first

            def run(block_text: str | None = None, command: str | None = None) -> None:
                if block_text:  # click the guide's block: Browser copies it into the editor
                    page.locator("pre.runnable", has_text=block_text).first.click()
                editor.click()
                if command:
                    page.keyboard.type(command)
                page.keyboard.press("Control+Enter")

            run(command=f":guide {guide_server}/guide.html")
            page.wait_for_selector("text=Who posts these ads", timeout=30_000)
            run(":style")
            page.wait_for_selector("text=node.Owner", timeout=30_000)
            style_errors = page.locator("text=InvalidGrassError").count()
            for _ in range(2):  # to slide "2. The top group at a glance"
                page.get_by_text("Next", exact=True).click()
            run("USES_PHONE")
            page.wait_for_selector("svg g.node", timeout=60_000)
            page.wait_for_timeout(3000)  # let the force layout settle for the picture
            page.screenshot(path=str(ARTIFACTS / "browser-top-group-summary.png"))
            zoomed_shot(page, hubs["owner"], ARTIFACTS / "browser-top-group-summary-zoomed.png")
            summary = node_captions(page)
            edge_captions = page.evaluate(
                "Array.from(document.querySelectorAll('svg g.relationship text'))"
                ".map(t => t.textContent.trim())"
            )
            fills = {
                (c.get_attribute("fill") or "").upper()
                for c in page.locator("svg g.node circle").all()
            }
            page.get_by_text("Next", exact=True).click()  # "3. Drill down: a phone"
            run(":param phone")
            page.wait_for_timeout(1500)
            run("HAS_PHONE]-(a:Ad)")
            page.wait_for_timeout(4000)
            page.screenshot(path=str(ARTIFACTS / "browser-drill-down-phone.png"))
            drill = node_captions(page)
            zoomed_shot(page, "+", ARTIFACTS / "browser-drill-down-phone-zoomed.png")
        finally:
            browser.close()
    assert style_errors == 0
    n_hubs = len(hubs["phones"]) + sum(hubs[k] for k in ("email", "author", "wallet", "location"))
    assert len(summary) == 1 + n_hubs  # the Owner and every hub, nothing cut
    assert any(c.startswith(hubs["owner"]) for c in summary)
    for number in hubs["phones"]:  # the full number is readable on its node
        assert number in summary, number
    # every edge is captioned with its count ("N ads"); Browser cuts a caption longer than
    # its edge to "N…" (or to nothing), so a cut one must still be the start of such a caption
    assert len(edge_captions) == n_hubs
    full = [c for c in edge_captions if c and not c.endswith("…")]
    cut = [c for c in edge_captions if c not in full]
    assert all(re.fullmatch(r"\d+ ads", c) for c in full), full
    assert all(re.fullmatch(r"(\d[\d ads]*)?…|", c) for c in cut), cut
    assert not Counter(full) - Counter(f"{n} ads" for n in summary_counts)
    assert OWNER_COLOUR in fills, f"the ownergraph style was not applied: {sorted(fills)}"
    phone = next(rows for block, rows in guide if block.startswith(":param phone"))[0]["v"]
    drilled = next(rows for block, rows in guide if block.startswith("MATCH (p:Phone"))
    ads = [c for c in drill if re.fullmatch(r"\d+ \D.*", c)]
    assert len(ads) == len(drilled)  # each ad of the phone, captioned with its id and city
    assert phone in drill and phone in hubs["phones"]
