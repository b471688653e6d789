"""The kb command line: scaffolding, exit codes, fast help."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from conftest import MKDOCS, ROOT, tiny_tree
from typer.testing import CliRunner

from kb.cli import app

runner = CliRunner()
ENV = {"KB_MKDOCS_CONFIG": str(MKDOCS)}


def test_kb_new_brief_scaffolds_a_brief_that_check_refuses_until_filled(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    r = runner.invoke(
        app,
        [
            "new",
            "brief",
            "--title",
            "Gun Violence: Problem Analysis!",
            "--area",
            "crime-analysis",
            "--area",
            "gun-violence",
            "--docs",
            str(docs),
        ],
        env=ENV,
    )
    assert r.exit_code == 0, r.output
    path = docs / "briefs" / "gun-violence-problem-analysis.md"
    text = path.read_text()
    assert 'title: "Gun Violence: Problem Analysis!"' in text
    assert "  - crime-analysis\n  - gun-violence" in text
    assert f"updated: {dt.date.today().isoformat()}" in text
    for heading in ("## What it is", "## Implementing it", "### First 90 days", "## Related resources"):
        assert heading in text

    check = runner.invoke(app, ["check", "--docs", str(docs)], env=ENV)
    assert check.exit_code == 1
    assert f"{path}:3: template placeholder 'TODO'" in check.output
    assert "gun-violence-problem-analysis.md" in check.output

    again = runner.invoke(
        app,
        [
            "new",
            "brief",
            "--title",
            "Gun violence problem analysis",
            "--area",
            "crime-analysis",
            "--docs",
            str(docs),
        ],
        env=ENV,
    )
    assert again.exit_code == 1 and "already exists" in again.output
    assert path.read_text() == text


def test_kb_new_brief_rejects_unknown_or_missing_areas(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    r = runner.invoke(app, ["new", "brief", "--title", "X", "--area", "guns", "--docs", str(docs)], env=ENV)
    assert r.exit_code == 1 and "unknown core area 'guns'; allowed: federal-partnerships" in r.output
    r = runner.invoke(app, ["new", "brief", "--title", "X", "--docs", str(docs)], env=ENV)
    assert r.exit_code == 1 and "give at least one --area" in r.output
    assert not (docs / "briefs" / "x.md").exists()


def test_bad_arguments_exit_2():
    assert runner.invoke(app, ["check", "--no-such-flag"]).exit_code == 2
    assert runner.invoke(app, ["new", "brief"]).exit_code == 2


def test_search_without_an_index_says_how_to_build_one(tmp_path):
    r = runner.invoke(app, ["search", "gun violence", "--index", str(tmp_path / "none")], env=ENV)
    assert r.exit_code == 1 and "kb index" in r.output


def test_help_imports_nothing_heavy():
    """`kb --help` and test collection stay fast: no model, FAISS or torch at import time."""
    code = (
        "import sys, kb.cli; "
        "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'mkdocs') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "kb.cli", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert help_text.returncode == 0
    for command in ("check", "index", "search", "serve", "eval", "bench", "new"):
        assert command in help_text.stdout


def test_the_cli_reference_page_is_generated_from_the_cli():
    out = subprocess.run(
        [sys.executable, "scripts/cli_reference.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    page = (ROOT / "docs" / "contribute" / "cli.md").read_text()
    assert "## `kb new`" in page and "`--area`" in page and "case-study" in page


def test_kb_new_brief_keeps_any_title_valid_yaml(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    title = 'The "Ceasefire" model: C:\\path #1 — Évaluation'
    r = runner.invoke(
        app, ["new", "brief", "--title", title, "--area", "gun-violence", "--docs", str(docs)], env=ENV
    )
    assert r.exit_code == 0, r.output
    from kb.documents import parse_documents
    from kb.taxonomy import load_taxonomy

    found, problems = parse_documents(docs, load_taxonomy())
    new = [d for d in found if d.id.startswith("briefs/the-ceasefire")]
    assert new and new[0].title == title
    assert not any("invalid YAML" in p.message for p in problems)
