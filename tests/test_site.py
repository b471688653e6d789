"""The static site: strict builds, generated lists, navigation, related briefs, tag checking."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import DOCS, MKDOCS, ROOT, brief_text, write_tree

from kb.taxonomy import load_taxonomy
from kb.validation import check_content

pytestmark = pytest.mark.slow


def html(settings, page: str) -> str:
    return (settings.site_dir / page / "index.html").read_text(encoding="utf-8")


def links(text: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', text)


def test_plain_mkdocs_build_strict_passes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "search" / "search_index.json").is_file()


def test_navigation_tabs_in_order(real_env):
    settings, _, _ = real_env
    tabs = re.findall(r'class="md-tabs__link[^"]*"[^>]*>\s*([^<]+?)\s*<', html(settings, ""))
    assert tabs == [
        "Home",
        "About",
        "Core areas",
        "Briefs",
        "Peer learning",
        "Sites",
        "DOJ components",
        "Contribute",
    ]


def test_area_pages_list_their_briefs_from_front_matter(real_env):
    settings, _, _ = real_env
    docs, _ = check_content(DOCS, load_taxonomy(), MKDOCS)
    for area in load_taxonomy().area_slugs:
        page = html(settings, f"areas/{area}")
        listed = page.split('id="briefs-in-this-area"')[1]
        primary = [d for d in docs if d.type == "practice-brief" and d.meta.core_areas[0] == area]
        assert len(primary) >= (6 if area == "constitutional-policing" else 8)
        for d in primary:
            assert f"{d.id.split('/')[1]}/" in listed, f"{d.id} missing from areas/{area}"
        assert f"search/?area={area}" in listed


def test_component_and_site_pages_list_briefs(real_env):
    settings, _, _ = real_env
    docs, _ = check_content(DOCS, load_taxonomy(), MKDOCS)
    atf = html(settings, "components/atf").split('id="briefs-involving-this-component"')[1]
    for d in docs:
        if "atf" in d.meta.components and d.type == "practice-brief":
            assert f"{d.id.split('/')[1]}/" in atf
    kc = html(settings, "sites/kansas-city-mo")
    assert "Diagnostic team approach" in kc and "Operations team approach" in kc


def test_every_brief_page_shows_related_briefs_sources_and_rating(real_env):
    settings, _, _ = real_env
    for path in sorted((DOCS / "briefs").glob("*.md")):
        if path.stem == "index":
            continue
        page = html(settings, f"briefs/{path.stem}")
        related = page.split('id="related-briefs"')[1].split("</ul>")[0]
        targets = [h for h in links(related) if "areas/" not in h]
        assert 3 <= len(targets) <= 5, path.stem
        assert f"{path.stem}/" not in targets
        assert "kb-area" in related  # core-area tags on each related brief
        assert 'id="sources"' in page and 'id="evidence-rating"' in page


def test_an_unknown_core_area_fails_the_site_build(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = write_tree(
        tmp_path / "docs",
        {
            "index.md": "---\ntitle: Home\nsummary: x\ntype: index\nupdated: 2025-01-01\n---\n\nHi\n",
            "briefs/bad.md": brief_text("Bad", ("guns",)).replace("- [Other](other.md)", ""),
        },
    )
    cfg = load_config(str(MKDOCS), docs_dir=str(docs), site_dir=str(tmp_path / "site"))
    with pytest.raises(Exception, match="unknown core area 'guns' on briefs/bad.md"):
        build(cfg)


def test_site_pages_say_where_their_facts_come_from_and_list_peer_learning(real_env):
    settings, _, _ = real_env
    taxonomy = load_taxonomy()
    sources = {s.slug: s for s in taxonomy.site_sources}
    docs, _ = check_content(DOCS, taxonomy, MKDOCS)
    exchanges = [d for d in docs if d.type == "peer-exchange"]
    for site in taxonomy.sites:
        page = html(settings, f"sites/{site.slug}")
        for e in site.engagements:
            assert sources[e.source].url in page, site.slug
        hosted = [d for d in exchanges if d.meta.host == site.slug]
        made = [d for d in exchanges if site.slug in d.meta.visitors]
        cases = [d for d in docs if d.type == "case-study" and site.slug in d.meta.sites]
        for d in hosted + made + cases:
            assert f"{d.id}/" in page, f"{d.id} missing from sites/{site.slug}"
        if not (
            hosted
            or made
            or cases
            or any(site.slug in d.meta.sites for d in docs if d.type == "practice-brief")
        ):
            assert 'id="no-public-record"' in page and "peer-learning/" in page
        assert 'id="communities-to-join"' in page
    later = html(settings, "sites/shreveport-la")
    assert "Not stated by the source" in later


def test_briefs_list_their_peer_examples_from_front_matter(real_env):
    settings, _, _ = real_env
    docs, _ = check_content(DOCS, load_taxonomy(), MKDOCS)
    examples: dict[str, list[str]] = {}
    for d in docs:
        for slug in d.meta.practices:
            examples.setdefault(slug, []).append(d.id)
    assert len(examples) >= 10
    for slug, ids in examples.items():
        page = html(settings, f"briefs/{slug}").split('id="peer-examples"')[1]
        for doc_id in ids:
            assert f"{doc_id}/" in page, f"{doc_id} missing from briefs/{slug}"


def test_the_exchange_network_is_drawn_from_front_matter(real_env):
    settings, _, _ = real_env
    page = html(settings, "peer-learning")
    svg = page.split('<svg class="kb-network"')[1].split("</svg>")[0]
    docs, _ = check_content(DOCS, load_taxonomy(), MKDOCS)
    exchanges = [d for d in docs if d.type == "peer-exchange"]
    visits = sum(len(d.meta.visitors) for d in exchanges)
    assert (
        svg.count("<line")
        == len({(str(v), str(d.meta.host)) for d in exchanges for v in d.meta.visitors})
        <= visits
    )
    assert 'role="img"' in page and "kb-network-title" in page
    for d in exchanges:
        for party in [d.meta.host, *d.meta.visitors]:
            if isinstance(party, str):
                assert f'href="../sites/{party}/"' in page, party
        assert f"{d.id}/" in page  # the table lists every exchange as text too


def test_site_builds_take_turns(tmp_path, tiny_docs):
    """`kb site` while `kb serve` rebuilds: builds into one folder wait for each other (they
    would otherwise share site.tmp and could leave a partial site)."""
    import fcntl
    import threading

    from kb.documents import parse_documents
    from kb.site import build_site

    taxonomy = load_taxonomy()
    docs, _ = parse_documents(tiny_docs, taxonomy)
    site = tmp_path / "site"

    def build() -> None:
        build_site(
            mkdocs_config=MKDOCS,
            docs_dir=tiny_docs,
            site_dir=site,
            docs=docs,
            taxonomy=taxonomy,
            related={},
            inputs_hash="stamp",
        )

    with (tmp_path / "site.lock").open("w") as held:  # another build is under way
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = threading.Thread(target=build)
        waiting.start()
        waiting.join(timeout=3)
        assert waiting.is_alive() and not site.exists() and not (tmp_path / "site.tmp").exists()
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert (site / "briefs" / "gvi" / "index.html").is_file()
    assert not (tmp_path / "site.tmp").exists() and not (tmp_path / "site.old").exists()


def test_in_text_citations_link_to_the_source_list_and_the_index_lists_each_work(tmp_path):
    """`kb site` links "(Braga, Weisburd & Turchan, 2018)" to #source-1, whose entry opens the
    work; the evidence box links its basis; the source index lists the work once, with the
    pages citing it (most-cited first)."""
    from test_sources import linked_brief

    from kb.documents import parse_documents
    from kb.site import build_site

    docs_dir = write_tree(
        tmp_path / "docs",
        {
            "briefs/other.md": linked_brief("Other brief"),
            "briefs/gvi.md": linked_brief("Group violence intervention"),
            "contribute/sources.md": (DOCS / "contribute" / "sources.md").read_text(),
        },
    )
    taxonomy = load_taxonomy()
    docs, _ = parse_documents(docs_dir, taxonomy)
    site = tmp_path / "site"
    build_site(
        mkdocs_config=MKDOCS,
        docs_dir=docs_dir,
        site_dir=site,
        docs=docs,
        taxonomy=taxonomy,
        related={},
        inputs_hash="stamp",
    )

    page = (site / "briefs" / "gvi" / "index.html").read_text(encoding="utf-8")
    assert re.search(
        r'\(<a class="kb-cite" href="#source-1"[^>]*>Braga, Weisburd &amp; '
        r"Turchan, 2018</a>\)",
        page,
    )
    assert re.search(r'<a class="kb-cite" href="#source-2"[^>]*>Kennedy \(2011\)</a>', page)
    entry = re.search(r'<li id="source-1">(.*?)</li>', page, re.DOTALL).group(1)
    assert re.search(
        r'<a href="https://doi\.org/10\.1111/1745-9133\.12353" '
        r'class="kb-source-link kb-external">',
        entry,
    )
    assert "DOI 10.1111/1745-9133.12353" in entry
    pdf_free = re.search(r'<li id="source-2">(.*?)</li>', page, re.DOTALL).group(1)
    assert 'href="https://example.org/dont-shoot"' in pdf_free and "PDF" not in pdf_free
    box = page.split('id="evidence-rating"')[1].split("</p>")[0]
    assert (
        'Rating\'s source: <a href="https://doi.org/10.1111/1745-9133.12353"' in box
        and "Focused deterrence strategies and crime control</a>" in box
    )
    # headings are never linked, even when they read like a citation
    assert '<h2 id="how-it-works">How it works' in page

    index = (site / "contribute" / "sources" / "index.html").read_text(encoding="utf-8")
    works = re.findall(r'<li id="work-\d+">(.*?)</li>', index, re.DOTALL)
    assert len(works) == 2  # each work once, though two briefs cite both
    assert "Focused deterrence strategies and crime control" in works[0] + works[1]
    for work in works:
        assert "Cited by 2:" in work
        assert 'href="../../briefs/gvi/#source-' in work
        assert 'href="../../briefs/other/#source-' in work


def test_every_citation_link_on_the_real_site_lands_on_an_entry_that_opens(real_env):
    settings, _, _ = real_env
    linked = 0
    for path in sorted((DOCS / "briefs").glob("*.md")):
        if path.stem == "index":
            continue
        page = html(settings, f"briefs/{path.stem}")
        for target in set(re.findall(r'class="kb-cite" href="#(source-\d+)"', page)):
            entry = re.search(rf'<li id="{target}">(.*?)</li>', page, re.DOTALL)
            assert entry, f"{path.stem}: #{target} has no entry"
            assert re.search(r'href="https?://', entry.group(1)), f"{path.stem}: #{target}"
            linked += 1
    assert linked >= 20
    index = html(settings, "contribute/sources")
    counts = [int(n) for n in re.findall(r"Cited by (\d+):", index)]
    assert counts and counts == sorted(counts, reverse=True) and counts[0] >= 3
