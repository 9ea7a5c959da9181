"""Case reports: parsed as HTML (self-contained, redacted) and rendered in headless Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, chromium_or_skip
from test_owners_world import build_world

from ownergraph.graph.embedded import EmbeddedStore
from ownergraph.graph.owners import detect_owners, list_owners
from ownergraph.report import Redactor, build_report, write_report

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


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    store = EmbeddedStore(tmp_path_factory.mktemp("report") / "g.lbug")
    store.init_schema()
    build_world(store)
    detect_owners(store, calibrate=False)
    top = list_owners(store, limit=1)[0]["id"]
    yield store, top
    store.close()


def test_the_page_is_self_contained_and_complete(world):
    store, top = world
    text = build_report(store, top)
    page = Page(text)
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "img", "object", "embed"}
    for _, attrs in page.tags:
        for name in ("src", "href", "action", "xlink:href"):
            value = attrs.get(name)
            assert value is None or value.startswith(("#", "data:")), (name, value)
    assert not re.search(r"https?://|url\((?!#)|@import", text)  # url(#clip) is internal
    assert {"owner-id", "score", "flags", "reasons", "indicators", "timeline", "places",
            "evidence-graph", "identifiers", "wallets", "ads"} <= page.ids()  # fmt: skip
    assert text.count("<svg") == 2  # the timeline and the evidence graph
    body = " ".join(page.text)
    for fact in ("many people", "posted in 3 states (AZ, CA, NV)", "Las Vegas", "San Diego",
                 "+17025550147", "W1", "Kandy here, call"):  # fmt: skip
        assert fact in body
    ad_rows = re.search(r'<div id="ads">(.*?)</div>', text, re.S).group(1).count("<tr>")
    assert ad_rows == 1 + 6  # header + the group's six ads


def test_redaction_leaves_no_raw_identifier(world, tmp_path: Path):
    store, top = world
    path = write_report(store, top, tmp_path / "case.html", redact=True)
    text = path.read_text(encoding="utf-8")
    for raw in RAW_FORMS:
        assert raw not in text, raw
    assert "[phone]" in text and "[email]" in text and 'id="redaction"' in text
    keyed = build_report(store, top, redact=True, hmac_key=b"k" * 32)
    digests = set(re.findall(r"\[phone\] ([0-9a-f]{10})", keyed))
    assert len(digests) == 2  # two phones, told apart by keyed digests
    for raw in RAW_FORMS:
        assert raw not in keyed


def test_redactor_finds_obfuscated_and_repeated_identifiers():
    red = Redactor(True)
    text = red.text("call 702-555-0147 or seven0two 555 0147, again 702.555.0147; x@y.com")
    assert "0147" not in text and "seven" not in text and "x@y.com" not in text
    assert text.count("[phone]") == 3 and "[email]" in text
    assert Redactor(False).text("702-555-0147") == "702-555-0147"


def test_unknown_owner_is_a_clear_error(world):
    store, _ = world
    with pytest.raises(LookupError, match="no owner group with id 'O-x'"):
        build_report(store, "O-x")


@pytest.mark.browser
def test_the_report_renders_in_headless_chromium(world, tmp_path: Path):
    sync_playwright = chromium_or_skip()
    store, top = world
    path = write_report(store, top, tmp_path / "case.html", redact=True)
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_selector("#evidence-graph svg")
            page.screenshot(path=str(ARTIFACTS / "case-report.png"), full_page=True)
            graph = page.locator("#evidence-graph svg").bounding_box()
            timeline = page.locator("#timeline svg").bounding_box()
            score = page.locator("#score").inner_text()
            ad_rows = page.locator("#ads tbody tr").count()
            flags = page.locator("#flags .flag").all_inner_texts()
            visible = page.locator("body").inner_text()
        finally:
            browser.close()
    assert requests == [path.as_uri()]  # nothing fetched but the page itself
    assert graph and graph["width"] > 300 and graph["height"] > 200
    assert timeline and timeline["width"] > 300
    assert float(score) > 0 and ad_rows == 6 and flags == ["many people", "many states"]
    assert "[phone]" in visible and "555-0147" not in visible
