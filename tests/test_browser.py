"""The site's semantic search in real headless Chromium against real servers.

Screenshots land in test-artifacts/ (kept by CI as the run's artifacts).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, MKDOCS, ROOT, brief_text, require, write_tree

from kb.documents import parse_documents
from kb.index import build_index
from kb.taxonomy import load_taxonomy
from search_service.process import ServerProcess, free_port
from search_service.settings import ServiceSettings

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def results(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#kb-results > li",
        """els => els.map(li => ({
            id: li.dataset.id,
            areas: (li.dataset.areas || '').split(' ').filter(Boolean),
            tags: Array.from(li.querySelectorAll('.kb-area')).map(a => a.textContent),
            href: li.querySelector('h3 a').getAttribute('href'),
            title: li.querySelector('h3 a').textContent,
            section: (li.querySelector('.kb-section') || {}).textContent || '',
            snippetHtml: (li.querySelector('.kb-snippet') || {}).innerHTML || '',
        }))""",
    )


def search_page(page, base: str, query: str = "") -> None:
    page.goto(f"{base}/search/{query}")
    page.wait_for_selector("#kb-search[data-state]", timeout=30_000)


def test_semantic_search_finds_gun_violence_briefs_with_tags_and_section_links(page, real_server):
    page.goto(real_server.url + "/search/")
    page.get_by_label("Search in your own words").fill("gun violence strategies")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    found = results(page)
    shot(page, "search-results")
    assert len(found) >= 10
    for r in found[:5]:
        assert "gun-violence" in r["areas"] and "Gun violence" in r["tags"], r
    assert page.url.endswith("?q=gun+violence+strategies")
    status = page.inner_text("#kb-status")
    assert f"{len(found)} of " in status and "results for" in status
    assert page.get_attribute("#kb-status", "aria-live") == "polite"
    # the suggested filter for the query's area
    assert "Gun violence" in page.inner_text("#kb-suggest")
    # section links land on an anchor that exists on the target page, highlighted with ?h=
    with_anchor = [r for r in found if "#" in r["href"]][:3]
    assert with_anchor
    for r in with_anchor:
        assert "?h=" in r["href"]
        anchor = r["href"].split("#", 1)[1]
        page.goto(real_server.url + r["href"] if r["href"].startswith("/") else r["href"])
        assert page.locator(f"[id='{anchor}']").count() == 1, r["href"]
    assert page.js_errors == []


def test_area_filter_restricts_every_card_and_lives_in_the_url(page, real_server):
    search_page(page, real_server.url, "?q=how+do+we+get+more+shootings+solved")
    before = results(page)
    page.click(".kb-chip[data-area=investigations]")
    page.wait_for_function("location.search.includes('area=investigations')")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#kb-results > li')).every("
        "li => li.dataset.areas.split(' ').includes('investigations'))"
    )
    after = results(page)
    shot(page, "search-filtered")
    assert after and all("investigations" in r["areas"] for r in after)
    assert page.get_attribute(".kb-chip[data-area=investigations]", "aria-pressed") == "true"
    # the chip shows its facet count
    assert "(" in page.inner_text(".kb-chip[data-area=investigations]")
    # back restores the unfiltered search
    page.go_back()
    page.wait_for_function("!location.search.includes('area=')")
    page.wait_for_function(
        "document.querySelector('.kb-chip[data-area=investigations]')"
        "?.getAttribute('aria-pressed') === 'false'"
    )
    assert len(before) >= len(after)
    assert page.js_errors == []


def test_a_shared_url_restores_query_and_filters(page, real_server):
    search_page(page, real_server.url, "?q=cameras&area=technology&area=community-engagement&evidence=mixed")
    assert page.input_value("#kb-q") == "cameras"
    pressed = page.eval_on_selector_all(".kb-chip[aria-pressed=true]", "els => els.map(e => e.dataset.area)")
    assert sorted(pressed) == ["community-engagement", "technology"]
    assert page.input_value("#kb-evidence") == "mixed"
    found = results(page)
    assert found
    assert all({"technology", "community-engagement"} & set(r["areas"]) for r in found)


def test_related_briefs_render_on_a_brief_page(page, real_server):
    page.goto(real_server.url + "/briefs/focused-deterrence-gvi/")
    related = page.locator("[data-kb-related] > li")
    assert 3 <= related.count() <= 5
    assert related.first.locator(".kb-area").count() >= 1
    shot(page, "brief-page")


def test_an_in_text_citation_opens_its_source_entry(page, real_server):
    """A reader clicks "(Engel et al., 2022)" in a brief's prose and lands on that work's entry
    in the source list, which links to the work itself."""
    page.goto(real_server.url + "/briefs/de-escalation-training/")
    cite = page.locator("article p a.kb-cite").first
    target = cite.get_attribute("href").split("#", 1)[1]
    assert target.startswith("source-"), target
    cite.click()
    page.wait_for_function(f"location.hash === '#{target}'")
    entry = page.locator(f"li#{target}")
    assert page.evaluate("document.querySelector(':target')?.id") == target
    assert entry.is_visible()
    top = entry.bounding_box()["y"]
    assert 0 <= top < 900 - 40, f"the entry is not scrolled into view (top at {top})"
    shot(page, "citation-target")
    href = entry.locator("a.kb-source-link").get_attribute("href")
    parts = urlsplit(href)
    assert parts.scheme == "https" and "." in parts.netloc, href
    assert page.js_errors == []


def test_area_page_links_to_filtered_search(page, real_server):
    page.goto(real_server.url + "/areas/gun-violence/")
    page.click("text=Search within Gun violence")
    page.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    assert "area=gun-violence" in page.url
    assert all("gun-violence" in r["areas"] for r in results(page))


def test_header_search_is_one_system_that_opens_semantic_search(page, real_server):
    page.goto(real_server.url + "/briefs/")
    # Material's keyword dialog is gone from the header: one box, one kind of search
    assert page.locator(".md-search, .md-search__input").count() == 0
    page.get_by_role("searchbox", name="Search the knowledge base").fill("witness intimidation")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=witness+intimidation*")
    page.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    assert results(page)


def test_keyboard_only_use(page, real_server):
    search_page(page, real_server.url, "?q=cold+cases")
    page.focus("#kb-q")
    first_link = page.locator("#kb-results > li h3 a").first
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.querySelector('#kb-results > li h3 a')"):
            break
    else:
        pytest.fail("could not tab to the first result")
    target = first_link.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + target.split("#")[0].split("?")[0] + "**")
    # every control on the search page is labelled
    search_page(page, real_server.url)
    for control in ("#kb-q", "#kb-type", "#kb-evidence"):
        cid = control[1:]
        assert page.locator(f"label[for={cid}]").count() == 1


def serve_static(folder: Path, port: int) -> subprocess.Popen:
    import time

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/")
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc


@pytest.fixture
def static_only(real_env):
    """The built site hosted on its own, with no API behind it."""
    settings, _, _ = real_env
    port = free_port()
    proc = serve_static(settings.site_dir, port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


@pytest.mark.parametrize("allowed", [True, False], ids=["cors-allowed", "cors-refused"])
def test_a_static_site_hosted_apart_calls_the_api_across_origins(page, real_env, tmp_path, allowed):
    """`extra.search_api` points the page at an API on another origin; the API's CORS
    setting decides whether the browser lets the page use it (else: the keyword fallback)."""
    settings, _, _ = real_env
    site = tmp_path / "site"
    shutil.copytree(settings.site_dir, site)
    static_port = free_port()
    origin = f"http://127.0.0.1:{static_port}"
    api = ServerProcess(
        settings.model_copy(update={"cors_origins": [origin] if allowed else []}), tmp_path / "server.log"
    ).start()
    search = site / "search" / "index.html"
    search.write_text(search.read_text().replace('data-api=""', f'data-api="{api.url}"'))
    static = serve_static(site, static_port)
    try:
        search_page(page, origin, "?q=cold+case+units")
        state = page.get_attribute("#kb-search", "data-state")
        if allowed:
            assert state == "api" and results(page)[0]["id"] == "briefs/cold-case-units"
        else:
            assert state == "fallback" and page.locator("#kb-notice").is_visible()
    finally:
        static.terminate()
        api.stop()


def test_fallback_to_keyword_results_when_the_api_is_unreachable(page, static_only):
    search_page(page, static_only, "?q=homicide+clearance")
    assert page.get_attribute("#kb-search", "data-state") == "fallback"
    notice = page.locator("#kb-notice")
    assert notice.is_visible() and "not available" in notice.inner_text()
    found = results(page)
    shot(page, "search-fallback")
    assert found and any("homicide" in r["title"].lower() for r in found)
    assert page.js_errors == []


def test_fallback_when_the_api_process_is_stopped(page, real_env, tmp_path):
    settings, _, _ = real_env
    server = ServerProcess(settings, tmp_path / "server.log").start()
    try:
        search_page(page, server.url, "?q=vacant+lots")
        assert page.get_attribute("#kb-search", "data-state") == "api"
    finally:
        server.stop()
    page.fill("#kb-q", "summer jobs")
    page.keyboard.press("Enter")
    # the page itself is gone with the server; the already-loaded page falls back on its own
    page.wait_for_selector("#kb-search[data-state=error], #kb-search[data-state=fallback]", timeout=30_000)
    assert page.locator("#kb-notice").is_visible()
    assert "not available" in page.inner_text("#kb-search")


MALICIOUS = {
    "briefs/evil.md": brief_text(
        "Evil cameras brief",
        ("technology",),
        what="Xylophone cameras. &lt;script&gt;window.__xss = 1&lt;/script&gt; and "
        '`<img src=x onerror="window.__xss=2">` in code.',
    ).replace("- [Other](other.md)", ""),
}


@pytest.fixture
def xss_server(real_env, real_embedder, tmp_path):
    """A real server whose index holds a brief that carries markup, built past `kb check`
    (which would refuse it): the page must still render it as text."""
    settings, _, _ = real_env
    docs = write_tree(tmp_path / "docs", MALICIOUS)
    found, _ = parse_documents(docs, load_taxonomy())
    doc = found[0]
    doc.meta.title = '<img src=x onerror="window.__xss=3">Evil <script>window.__xss=4</script>'
    doc.meta.summary = "<b onmouseover=alert(1)>bold</b>"
    index_dir = tmp_path / "index"
    build_index(found, docs, index_dir, real_embedder, mkdocs_config=MKDOCS)
    bad = ServiceSettings(
        docs_dir=docs, index_dir=index_dir, site_dir=settings.site_dir, mkdocs_config=MKDOCS
    )
    server = ServerProcess(bad, tmp_path / "server.log").start()
    yield server
    server.stop()


def test_malicious_content_renders_inert(page, xss_server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    search_page(page, xss_server.url, "?q=xylophone+cameras")
    found = results(page)
    shot(page, "search-malicious")
    assert found and found[0]["id"] == "briefs/evil"
    assert "<script>" in found[0]["title"] and "onerror" in found[0]["title"]
    assert page.evaluate("window.__xss") is None
    assert page.locator("#kb-results img, #kb-results script, #kb-results b").count() == 0
    assert dialogs == []


def test_time_to_first_results_is_recorded(page, real_server):
    page.goto(real_server.url + "/search/?q=" + quote("reentry from prison"))
    page.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    ms = page.evaluate("window.kbFirstResultsMs")
    assert ms > 0
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "first-results.json").write_text(json.dumps({"page_load_to_results_ms": ms}))
    print(f"\npage load to first results: {ms:.0f} ms")


def test_home_page_search_box_opens_semantic_search(page, real_server):
    page.goto(real_server.url + "/")
    page.get_by_label("Search the knowledge base in your own words").fill("summer jobs")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    assert "q=summer+jobs" in page.url
    assert results(page)[0]["id"] == "briefs/youth-violence-prevention"
    shot(page, "home-to-search")


# ---- peer learning and search people can trust (issues 8 and 9) ----------------------------


def test_a_question_about_visiting_a_city_finds_the_exchange_first(page, real_server):
    search_page(page, real_server.url, "?q=" + quote("which city could we visit to see a shooting review?"))
    found = results(page)
    shot(page, "search-peer-exchange")
    assert found[0]["id"] == "exchanges/kansas-city-to-milwaukee-shooting-review-2019"
    badge = page.locator("#kb-results > li").first.locator(".kb-result-type")
    assert badge.inner_text() == "Peer exchange"


def test_nonsense_gets_no_results_and_an_offer_to_browse(page, real_server):
    search_page(page, real_server.url, "?q=flurble+zapquix")
    shot(page, "search-no-match")
    assert page.get_attribute("#kb-search", "data-match") == "none"
    assert results(page) == []
    assert "Nothing in the knowledge base matches" in page.inner_text("#kb-message")
    browse = page.locator("#kb-browse")
    assert browse.is_visible()
    assert browse.locator("a[href$='areas/gun-violence/']").count() == 1
    assert not page.locator("#kb-more").is_visible()
    assert page.js_errors == []


def test_another_language_is_told_the_content_is_in_english(page, real_server):
    search_page(page, real_server.url, "?q=violencia+armada")
    assert results(page) == []
    assert "written in English" in page.inner_text("#kb-message")


def test_a_typo_offers_did_you_mean_which_searches_the_corrected_query(page, real_server):
    search_page(page, real_server.url, "?q=gun+voilence+strategies")
    link = page.locator("#kb-didyoumean a")
    assert link.inner_text() == "gun violence strategies"
    link.click()
    page.wait_for_function("new URLSearchParams(location.search).get('q') === 'gun violence strategies'")
    page.wait_for_function("!document.querySelector('#kb-didyoumean a')")
    page.wait_for_selector("#kb-search[data-state=api]")
    assert page.input_value("#kb-q") == "gun violence strategies"
    ids = [r["id"] for r in results(page)]
    assert "briefs/focused-deterrence-gvi" in ids[:3]


def test_what_works_puts_rated_practices_first_and_says_so(page, real_server):
    search_page(page, real_server.url, "?q=" + quote("what works to reduce shootings"))
    assert "Showing practices with evidence first" in page.inner_text("#kb-message")
    ratings = page.eval_on_selector_all(
        "#kb-results > li", "els => els.map(li => (li.querySelector('.kb-evidence') || {}).className || '')"
    )
    rated = ["kb-evidence--effective" in r or "kb-evidence--promising" in r for r in ratings]
    assert rated[:3] == [True, True, True]
    # rated practices come first, and the rest still follows
    assert rated.index(False) == sum(rated[: rated.index(False)]) and False in rated
    assert not any(rated[rated.index(False) :])


def test_three_result_cards_fit_above_the_fold_at_1280x800(browser, real_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    search_page(pg, real_server.url, "?q=gun+violence+strategies")
    bottoms = pg.eval_on_selector_all(
        "#kb-results > li", "els => els.map(li => li.getBoundingClientRect().bottom)"
    )
    shot(pg, "search-above-the-fold")
    context.close()
    assert len([b for b in bottoms if b <= 800]) >= 3, bottoms[:4]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search/?q=gun+violence+strategies",
        "/peer-learning/",
        "/sites/milwaukee-wi/",
        "/briefs/focused-deterrence-gvi/",
        "/areas/gun-violence/",
        "/about/glossary/",
    ],
)
def test_no_horizontal_scrolling_on_a_390px_phone(browser, real_server, path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    pg.goto(real_server.url + path)
    if "search" in path:
        pg.wait_for_selector("#kb-search[data-state]", timeout=30_000)
    width = pg.evaluate("document.documentElement.scrollWidth")
    # The theme clips the page sideways (overflow-x: hidden), which hides overflow rather than
    # preventing it; so nothing visible may reach past the screen's edge either (the off-screen
    # navigation drawer aside).
    sticking_out = pg.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(e => {
        const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
        return r.width > 0 && r.right > document.documentElement.clientWidth + 0.5
          && cs.visibility !== 'hidden' && !e.closest('.md-sidebar');
      }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)""")
    shot(pg, "phone" + path.replace("/", "-").split("?")[0].rstrip("-"))
    context.close()
    assert width <= 390, f"{path} is {width}px wide"
    assert sticking_out == [], f"{path}: past the right edge: {sticking_out[:5]}"


def test_more_results_loads_the_next_page(page, real_server):
    search_page(page, real_server.url, "?q=" + quote("community trust and police legitimacy"))
    first = [r["id"] for r in results(page)]
    assert len(first) == 20
    page.click("#kb-more")
    page.wait_for_function("document.querySelectorAll('#kb-results > li').length > 20")
    after = [r["id"] for r in results(page)]
    assert after[:20] == first and len(set(after)) == len(after)
    assert "of" in page.inner_text("#kb-status")


def test_highlighted_words_after_a_click_are_content_words_only(page, real_server):
    search_page(page, real_server.url, "?q=" + quote("how do we get the witnesses to talk"))
    href = results(page)[0]["href"]
    highlighted = href.split("?h=", 1)[1].split("#")[0]
    words = highlighted.replace("%20", " ").split()
    assert words and all(len(w) >= 3 for w in words)
    assert not {"how", "the", "do", "we", "to"} & set(words), words
    page.goto(real_server.url + href if href.startswith("/") else href)
    marks = page.eval_on_selector_all("mark", "els => els.map(e => e.textContent.toLowerCase())")
    assert marks and not {"the", "how", "to", "do", "we"} & set(marks)


def test_site_pages_list_their_peer_learning(page, real_server):
    page.goto(real_server.url + "/sites/milwaukee-wi/")
    assert page.locator("#exchanges-hosted + ul a", has_text="Kansas City to Milwaukee").count()
    assert page.locator("#communities-to-join").count() == 1
    page.goto(real_server.url + "/sites/compton-ca/")
    assert "No public record yet" in page.inner_text("#no-public-record")
    page.goto(real_server.url + "/peer-learning/")
    labels = page.locator(".kb-network-canvas a.kb-network-label")
    assert labels.count() >= 5
    labels.filter(has_text="Milwaukee").first.click()
    page.wait_for_url("**/sites/milwaukee-wi/")
    page.goto(real_server.url + "/briefs/shooting-review-meetings/")
    assert page.locator("#peer-examples + p + ul a", has_text="Kansas City to Milwaukee").count()
    assert page.js_errors == []


# ---- accessible, stable, fast to first result (issue 12) ---------------------------------------

AXE_JS = ROOT / ".venv" / "node" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA, plus the two best-practice rules behind the outline and landmark requirements.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "rules": {"heading-order": {"enabled": True}, "landmark-unique": {"enabled": True}},
    "resultTypes": ["violations"],
}
# One page of every template.
TEMPLATES = {
    "home": "/",
    "area": "/areas/gun-violence/",
    "brief": "/briefs/focused-deterrence-gvi/",
    "site": "/sites/milwaukee-wi/",
    "exchange": "/exchanges/kansas-city-to-milwaukee-shooting-review-2019/",
    "community": "/communities/crime-analysis-community-of-practice/",
    "case study": "/case-studies/milwaukee-homicide-review-commission/",
    "toolkit": "/toolkits/shooting-review-meeting-agenda/",
    "component": "/components/atf/",
    "peer learning": "/peer-learning/",
    "glossary": "/about/glossary/",
    "search with results": "/search/?q=gun+violence+strategies",
    "search with no match": "/search/?q=flurble+zapquix",
    "404": "/no-such-page/",
}


@pytest.fixture(scope="session")
def axe_source() -> str:
    require(AXE_JS.is_file(), "axe-core is not installed (make axe installs it with npm)")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(pg, source: str) -> list[str]:
    """axe-core's violations on the page as it stands, one readable line each."""
    pg.add_script_tag(content=source)
    found = pg.evaluate(
        """async options => (await axe.run(document, options)).violations.map(v => ({
        id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' -> '
          + (n.failureSummary || '').split('\\n').slice(1).join(' ').trim())}))""",
        AXE_OPTIONS,
    )
    return [f"{v['id']} ({v['help']}, {len(v['nodes'])}x): " + " | ".join(v["nodes"][:3]) for v in found]


@pytest.mark.parametrize(
    ("scheme", "width"),
    [("light", 1280), ("dark", 1280), ("light", 390), ("dark", 390)],
    ids=["light-desktop", "dark-desktop", "light-phone", "dark-phone"],
)
def test_every_template_passes_axe_wcag_22_aa(browser, real_server, axe_source, scheme, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    pg = context.new_page()
    problems: list[str] = []
    for name, path in TEMPLATES.items():
        pg.goto(real_server.url + path)
        if path.startswith("/search/"):
            pg.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
        # the palette follows the system's color scheme
        assert pg.get_attribute("body", "data-md-color-scheme") == (
            "slate" if scheme == "dark" else "default"
        ), name
        problems += [f"{name} ({path}): {v}" for v in axe_violations(pg, axe_source)]
    context.close()
    assert not problems, f"axe-core, {scheme} palette, {width} px:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def browser_with_scrollbars(browser):
    """Chromium as people run it: headless Playwright hides scrollbars, and a scrollbar that
    appears as results arrive is one of the shifts this must catch."""
    b = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        ignore_default_args=["--hide-scrollbars"],
    )
    yield b
    b.close()


LAYOUT_SHIFTS = """window.__kbShift = 0; window.__kbShifts = [];
new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) {
  window.__kbShift += e.value;
  window.__kbShifts.push(e.sources.map(s => s.node ? (s.node.id || s.node.className) : '?'));
} }).observe({type: 'layout-shift', buffered: true});"""


@pytest.mark.parametrize(
    "viewport", [{"width": 1350, "height": 940}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_the_search_page_holds_still_while_results_arrive(browser_with_scrollbars, real_server, viewport):
    context = browser_with_scrollbars.new_context(viewport=viewport)
    pg = context.new_page()
    pg.add_init_script(LAYOUT_SHIFTS)
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url) if "/api/search" in r.url else None)
    pg.goto(real_server.url + "/search/?q=" + quote("gun violence strategies"))
    pg.wait_for_selector("#kb-search[data-state=api]", timeout=30_000)
    pg.wait_for_load_state("networkidle")
    shift, sources = pg.evaluate("[window.__kbShift, window.__kbShifts]")
    # the search started while the page was still parsing, and kb.js used that response
    started, parsed = pg.evaluate("""() => [
        performance.getEntriesByType('resource').find(e => e.name.includes('/api/search')).startTime,
        performance.getEntriesByType('navigation')[0].domContentLoadedEventStart]""")
    counts = pg.eval_on_selector_all(".kb-chip-count", "els => els.map(e => e.textContent)")
    context.close()
    assert any(counts)  # the facet counts arrived, in the room kept for them
    assert shift <= 0.05, f"cumulative layout shift {shift:.3f}, moved: {sources}"
    assert len(requests) == 1, requests
    assert started < parsed
