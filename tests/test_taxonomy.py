"""The taxonomy is data: a new core area is a change to kb/taxonomy.yml alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import brief_text, copy_repo, write_tree

from kb.taxonomy import load_taxonomy

# A hypothetical ninth area (constitutional policing, the eighth, is now real content).
NEW_AREA = """      - slug: victim-services
        name: Victim services
        description: >-
          Supporting victims and survivors of violence, from the first response to the end of
          the court case.
"""


def test_the_taxonomy_has_the_program_vocabulary():
    t = load_taxonomy()
    assert t.area_slugs == [
        "federal-partnerships",
        "crime-analysis",
        "technology",
        "gun-violence",
        "criminal-justice-collaboration",
        "community-engagement",
        "investigations",
        "constitutional-policing",
    ]
    assert t.rating_slugs == ["effective", "promising", "mixed", "inconclusive", "ineffective", "not-rated"]
    assert t.component_slugs == ["ojp", "eousa", "ovw", "cops", "atf", "fbi", "dea", "usms"]
    # The 26 sites of the September 2018 fact sheet stay exactly as it lists them.
    fact_sheet = [s for s in t.sites if any(e.source == "fact-sheet-2018" for e in s.engagements)]
    assert len(fact_sheet) == 26
    kc = next(s for s in t.sites if s.slug == "kansas-city-mo")
    assert [(e.cohort, e.approach) for e in kc.engagements] == [
        ("2017", "diagnostic"),
        ("2018", "operations"),
    ]
    operations = [s for s in fact_sheet if any(e.approach == "operations" for e in s.engagements)]
    assert len(operations) == 17


@pytest.mark.model
def test_a_new_area_needs_only_the_taxonomy_file(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    taxonomy = repo / "kb" / "taxonomy.yml"
    text = taxonomy.read_text()
    marker = "\n    document_types:"
    taxonomy.write_text(text.replace(marker, "\n" + NEW_AREA.rstrip("\n") + marker, 1))
    brief = brief_text(
        "Survivor support",
        ("victim-services", "community-engagement"),
        what="Advocates who support survivors of shootings build trust.",
    )
    (repo / "docs" / "briefs" / "survivor-support.md").write_text(
        brief.replace("- [Other](other.md)", "- [Procedural justice](procedural-justice.md)")
    )
    env = {**os.environ, "PYTHONPATH": str(repo), "NO_MKDOCS_2_WARNING": "1", "HF_HUB_OFFLINE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True)

    # validation accepts it
    check = run("-m", "kb.cli", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    # the site builds, the brief wears the new area, and its area chip names it
    site = run("-m", "mkdocs", "build", "--strict", "-q")
    assert site.returncode == 0, site.stderr[-3000:]
    page = (repo / "site" / "briefs" / "survivor-support" / "index.html").read_text()
    assert "Victim services" in page
    # the index and the search filter accept it (a small docs tree keeps this fast)
    small = write_tree(
        tmp_path / "small",
        {
            "briefs/survivor-support.md": brief.replace("- [Other](other.md)", ""),
            "briefs/other.md": brief_text("Hot spots", ("crime-analysis",)).replace(
                "- [Other](other.md)", ""
            ),
        },
    )
    index = run("-m", "kb.cli", "index", "--docs", str(small), "--index", str(tmp_path / "ix"))
    assert index.returncode == 0, index.stderr[-3000:]
    found = run(
        "-m",
        "kb.cli",
        "search",
        "survivors",
        "--area",
        "victim-services",
        "--json",
        "--docs",
        str(small),
        "--index",
        str(tmp_path / "ix"),
    )
    assert found.returncode == 0, found.stderr[-3000:]
    results = json.loads(found.stdout)["results"]
    assert [r["id"] for r in results] == ["briefs/survivor-support"]
    assert results[0]["core_areas"][0] == "victim-services"
