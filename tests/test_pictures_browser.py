"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

The browser is the operating system's (/usr/bin/chromium; .ci/run installs it), never one
Playwright downloads. Without it the tests skip, except in CI (CI=true), where they fail:
there they must run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nnspec.cli import main

from .conftest import SPECS, load_script
from .test_pictures import LENET_LAYERS, SEED_LAYERS

# The browser and flags scripts/make_pictures.py draws the docs' pictures with: the test renders as the docs do.
_SCRIPT = load_script("make_pictures")
CHROMIUM, CHROMIUM_ARGS = _SCRIPT.CHROMIUM, _SCRIPT.CHROMIUM_ARGS
EXAMPLES = {"seed_activations": SEED_LAYERS, "lenet": LENET_LAYERS}


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import matplotlib  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install '.[test]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Each example's report, written by the command a user types."""
    directory = tmp_path_factory.mktemp("reports")
    made = {}
    for name in EXAMPLES:
        path = directory / f"{name}.html"
        assert main(["run", str(SPECS / f"{name}.yaml"), "--report", str(path), "--quiet"]) == 0
        made[name] = path
    return made


@dataclass
class Opened:
    page: object
    problems: list[str] = field(default_factory=list)  # console errors and page errors
    fetched: list[str] = field(default_factory=list)  # requests for anything but the report itself


def open_page(browser, path: Path) -> Opened:
    """The report in a new page, every console error and page error recorded, and every request
    for anything but the file itself refused and recorded: the report must need no network."""
    opened = Opened(browser.new_page(viewport={"width": 1280, "height": 900}))
    page = opened.page
    page.on("console", lambda message: message.type == "error" and opened.problems.append(message.text))
    page.on("pageerror", lambda error: opened.problems.append(str(error)))

    def route(request_route):
        url = request_route.request.url
        if url == path.as_uri() or url.startswith("data:"):
            request_route.continue_()
        else:
            opened.fetched.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return opened


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_report_loads_cleanly_and_shows_every_layer_and_finding(browser, reports, example):
    import nnspec

    opened = open_page(browser, reports[example])
    page = opened.page
    try:
        assert opened.problems == [] and opened.fetched == []
        text = " ".join(page.inner_text("body").split())
        contents = page.locator("nav#contents ol.layers li a").all_inner_texts()
        assert contents == EXAMPLES[example]
        for name in EXAMPLES[example]:
            heading = page.locator(f"section#layer-{name} h2").inner_text()
            assert heading.split()[0] == name
            assert page.locator(f'svg a[href="#layer-{name}"]').count() >= 1  # its box in the graph
        result = nnspec.run(nnspec.load(SPECS / f"{example}.yaml"))
        assert result.findings
        for finding in result.findings:
            assert " ".join(finding.message.split()) in text
        # every plot decoded: a data: PNG the browser could draw
        widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) == len(EXAMPLES[example]) and min(widths) > 0
        page.screenshot(path=str(reports[example].with_suffix(".png")), full_page=False)
    finally:
        page.close()


def test_anchors_lead_to_each_layer_from_the_contents_and_from_the_graph(browser, reports):
    opened = open_page(browser, reports["lenet"])
    page = opened.page
    try:
        viewport = page.viewport_size["height"]
        page.click('nav#contents a[href="#layer-relu4"]')
        assert page.evaluate("location.hash") == "#layer-relu4"
        top = page.locator("section#layer-relu4").bounding_box()["y"]
        assert 0 <= top < viewport / 2  # scrolled to it
        page.click('a[href="#contents"] >> nth=0')
        page.evaluate("window.scrollTo(0, 0)")
        page.locator('svg a[href="#layer-conv2"]').first.click()
        assert page.evaluate("location.hash") == "#layer-conv2"
        assert 0 <= page.locator("section#layer-conv2").bounding_box()["y"] < viewport / 2
        page.click('section#findings a[href="#layer-relu3"]')
        assert page.evaluate("location.hash") == "#layer-relu3"
        assert opened.problems == [] and opened.fetched == []
    finally:
        page.close()
