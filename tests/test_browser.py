"""Neo4j Browser in headless Chromium: load the ownergraph style and guide, run a guide query.

Needs the dev Neo4j (neo4j-dev/, which also serves Neo4j Browser and the repo's browser/
folder under /ownergraph/), Debian's chromium, and the Python ``playwright`` package
(driving /usr/bin/chromium; it never downloads a browser). The graph view and a
screenshot land in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_owners_world import build_world

from ownergraph.graph.owners import detect_owners

ROOT = Path(__file__).resolve().parents[1]
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
# The Browser allows :style/:guide from its allowlist; "localhost" is on the default one.
BROWSER_URL = os.environ.get(
    "NEO4J_BROWSER_URL", f"http://localhost:{os.environ.get('NEO4J_DEV_BROWSER_PORT', '7474')}"
)
OWNER_COLOUR = "#DA7194"  # node.Owner in browser/ownergraph.grass

pytestmark = [pytest.mark.browser, pytest.mark.neo4j]


def chromium_or_skip():
    """The playwright sync API, or a skip naming what is missing."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed")
    return sync_playwright


def test_style_and_guide_files_are_well_formed():
    grass = (ROOT / "browser" / "ownergraph.grass").read_text(encoding="utf-8")
    for label in ("Ad", "Phone", "Email", "Location", "Author", "Tx", "Address", "Wallet",
                  "Owner"):  # fmt: skip
        block = grass.split(f"node.{label} {{", 1)
        assert len(block) == 2, f"no style for {label}"
        body = block[1].split("}", 1)[0]
        assert "color: #" in body and 'caption: "{' in body, label
    assert grass.count("{") == grass.count("}")
    guide = (ROOT / "browser" / "guide.html").read_text(encoding="utf-8")
    assert guide.count("<slide") == guide.count("</slide>") >= 8
    assert guide.count('class="pre-scrollable code runnable"') >= 8


def test_browser_runs_a_guide_query_and_draws_the_graph(neo4j_store, neo4j_uri):
    sync_playwright = chromium_or_skip()
    try:
        urllib.request.urlopen(f"{BROWSER_URL}/ownergraph/guide.html", timeout=10).read()
    except OSError as exc:
        pytest.skip(f"Neo4j Browser is not served at {BROWSER_URL}: {exc}")
    build_world(neo4j_store)
    detect_owners(neo4j_store)
    bolt = urlparse(neo4j_uri)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(
                f"{BROWSER_URL}/browser/?dbms=bolt://{bolt.hostname}:{bolt.port}"
                "&preselectAuthMethod=NO_AUTH"
            )
            page.wait_for_selector("text=Connected to Neo4j", timeout=90_000)
            editor = page.locator(".monaco-editor").first

            def run(command: str | None = None) -> None:
                editor.click()
                if command:
                    page.keyboard.type(command)
                page.keyboard.press("Control+Enter")

            run(f":style {BROWSER_URL}/ownergraph/ownergraph.grass")
            page.wait_for_selector("text=node.Owner", timeout=30_000)
            run(f":guide {BROWSER_URL}/ownergraph/guide.html")
            page.wait_for_selector("text=Who posts these ads", timeout=30_000)
            for _ in range(2):  # to slide "2. The top group as a graph"
                page.get_by_text("Next", exact=True).click()
            page.locator("pre.runnable", has_text="RETURN o, b, a, r, h").first.click()
            run()  # the guide put the query into the editor
            page.wait_for_selector("svg g.node", timeout=60_000)
            page.wait_for_timeout(2000)  # let the force layout settle for the picture
            page.screenshot(path=str(ARTIFACTS / "browser-guide-graph.png"))
            nodes = page.locator("svg g.node").count()
            rels = page.locator("svg g.relationship").count()
            fills = {
                (c.get_attribute("fill") or "").upper()
                for c in page.locator("svg g.node circle").all()
            }
        finally:
            browser.close()
    # the top group: 6 ads, its Owner node, 2 phones, 1 e-mail, 2 authors (U1, U3)
    assert nodes == 12 and rels >= 16
    assert OWNER_COLOUR in fills, f"the ownergraph style was not applied: {sorted(fills)}"
