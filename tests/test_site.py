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
    assert tabs == ["Home", "About", "Core areas", "Briefs", "Sites", "DOJ components",
                    "Contribute"]


def test_area_pages_list_their_briefs_from_front_matter(real_env):
    settings, _, _ = real_env
    docs, _ = check_content(DOCS, load_taxonomy(), MKDOCS)
    for area in load_taxonomy().area_slugs:
        page = html(settings, f"areas/{area}")
        listed = page.split('id="briefs-in-this-area"')[1]
        primary = [d for d in docs if d.type == "practice-brief" and d.meta.core_areas[0] == area]
        assert len(primary) >= 8
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
