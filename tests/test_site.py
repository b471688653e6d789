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
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                             str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "search" / "search_index.json").is_file()


def test_navigation_tabs_in_order(real_env):
    settings, _, _ = real_env
    tabs = re.findall(r'class="md-tabs__link[^"]*"[^>]*>\s*([^<]+?)\s*<', html(settings, ""))
    assert tabs == ["Home", "About", "Core areas", "Briefs", "Peer learning", "Sites",
                    "DOJ components", "Contribute"]


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

    docs = write_tree(tmp_path / "docs", {
        "index.md": "---\ntitle: Home\nsummary: x\ntype: index\nupdated: 2025-01-01\n---\n\nHi\n",
        "briefs/bad.md": brief_text("Bad", ("guns",)).replace("- [Other](other.md)", ""),
    })
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
        if not (hosted or made or cases or any(site.slug in d.meta.sites for d in docs
                                                 if d.type == "practice-brief")):
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
    assert svg.count("<line") == len({(str(v), str(d.meta.host)) for d in exchanges
                                      for v in d.meta.visitors}) <= visits
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
        build_site(mkdocs_config=MKDOCS, docs_dir=tiny_docs, site_dir=site, docs=docs,
                   taxonomy=taxonomy, related={}, inputs_hash="stamp")

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
