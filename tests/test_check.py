"""`kb check`: every kind of bad brief gives exit 1 and `path:line: message`, and changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MKDOCS, brief_text, tiny_tree
from typer.testing import CliRunner

from kb.cli import app

runner = CliRunner()
GOOD = brief_text("Bad candidate", ("gun-violence",))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def sub(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


# (case, edit applied to a valid brief, the line the problem is reported on (a needle in the
# edited text, or a number), words the message must contain)
CASES = [
    (
        "invalid yaml",
        sub("type: practice-brief", "type: practice-brief: extra"),
        "type:",
        "invalid YAML in front matter: mapping values are not allowed here",
    ),
    ("missing front matter", lambda t: t.split("---\n", 2)[2], 1, "missing front matter"),
    ("front matter never closed", lambda t: t.replace("\n---\n", "\n", 1), 1, "never closed"),
    ("empty file", lambda t: "", 1, "empty"),
    (
        "missing required field",
        sub('summary: "A short summary of bad candidate."\n', ""),
        1,
        "missing required field 'summary'",
    ),
    (
        "unknown core area",
        sub("  - gun-violence", "  - gun-violence\n  - guns"),
        "  - guns",
        "unknown core area 'guns' in 'core_areas'; allowed: federal-partnerships",
    ),
    (
        "unknown type",
        sub("type: practice-brief", "type: brief"),
        "type: brief",
        "unknown document type 'brief' in 'type'; allowed: practice-brief",
    ),
    (
        "unknown evidence rating",
        sub("rating: promising", "rating: proven"),
        "rating: proven",
        "unknown evidence rating 'proven' in 'evidence'; allowed: effective, promising",
    ),
    (
        "unknown component",
        sub("components: []", "components: [atf, nsa]"),
        "components:",
        "unknown DOJ component 'nsa' in 'components'; allowed: ojp, eousa",
    ),
    (
        "unknown site",
        sub("sites: []", "sites: [gotham-nj]"),
        "sites:",
        "unknown site 'gotham-nj' in 'sites'; allowed: compton-ca",
    ),
    (
        "no core area",
        sub("core_areas:\n  - gun-violence", "core_areas: []"),
        "core_areas:",
        "needs 'core_areas': 1 to 3",
    ),
    (
        "more than three areas",
        sub("  - gun-violence", "  - gun-violence\n  - technology\n  - investigations\n  - crime-analysis"),
        "core_areas:",
        "has 4 areas; at most 3",
    ),
    (
        "duplicate title",
        sub('title: "Bad candidate"', 'title: "Other brief"'),
        "title:",
        "duplicate title 'Other brief'",
    ),
    (
        "link to a missing page",
        sub("- [Other](other.md)", "- [Gone](gone.md)"),
        "[Gone]",
        "points to 'briefs/gone.md', which does not exist",
    ),
    (
        "link to a missing anchor",
        sub("- [Other](other.md)", "- [Other](other.md#nowhere)"),
        "#nowhere",
        "has no section '#nowhere'",
    ),
    (
        "brief without sources",
        lambda t: t.split("sources:")[0] + "sources: []\n---\n" + t.split("\n---\n", 1)[1],
        "sources: []",
        "needs 'sources'",
    ),
    (
        "evidence without basis",
        sub('  basis: "Braga, Weisburd & Turchan (2018) meta-analysis."\n', ""),
        "evidence:",
        "missing required field 'evidence.basis'",
    ),
    (
        "malformed date",
        sub("updated: 2025-01-15", "updated: 2025-13-45"),
        "updated:",
        "'updated' must be a date written YYYY-MM-DD",
    ),
    ("future date", sub("updated: 2025-01-15", "updated: 2999-01-01"), "updated:", "a date in the future"),
    (
        "leftover placeholder",
        sub("Start small.", "TODO: the steps, in order."),
        "TODO:",
        "template placeholder 'TODO'",
    ),
    ("misspelt field", sub("sources:", "source:\n  - x\nsources:"), "source:", "unknown field 'source'"),
    (
        "markup in the title",
        sub('title: "Bad candidate"', 'title: "<img src=x onerror=alert(1)>"'),
        "title:",
        "'title' must be plain text",
    ),
    (
        "script in the body",
        sub("Start small.", "<script>alert(1)</script>"),
        "<script>",
        "scripts, frames, forms, styles and event handlers are not allowed",
    ),
    (
        "missing brief section",
        sub("## Common pitfalls\n\nLosing focus.\n", ""),
        "<body>",
        "missing section '## Common pitfalls'",
    ),
]


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def run_check(docs: Path, *options: str):
    return runner.invoke(app, ["check", "--docs", str(docs), *options], env={"KB_MKDOCS_CONFIG": str(MKDOCS)})


def test_a_valid_tree_passes(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    (docs / "briefs" / "bad.md").write_text(GOOD)
    result = run_check(docs)
    assert result.exit_code == 0, result.output
    assert "ok: 6 documents (5 practice briefs)" in result.output


def assert_reported(
    tmp_path: Path, docs: Path, path: Path, text: str, where, message: str, *options: str
) -> None:
    """Write ``text`` to ``path`` and expect `kb check` (with ``options``, such as --strict) to
    report ``message`` at the line ``where`` names (a number, a needle in the text, "<body>" for
    the first body line, or a function of the text), with exit 1 and nothing written."""
    path.write_text(text)
    if where == "<body>":  # the first line after the closing '---'
        where = [i for i, x in enumerate(text.split("\n"), 1) if x == "---"][1] + 1
    if callable(where):
        where = where(text)
    line = where if isinstance(where, int) else line_of(text, where)
    before = tree_digest(tmp_path)

    result = run_check(docs, *options)

    assert result.exit_code == 1, result.output
    expected = f"{path}:{line}: "
    lines = [out for out in result.output.splitlines() if out.startswith(expected)]
    assert any(message in out for out in lines), f"want '{expected}...{message}...' in:\n{result.output}"
    assert tree_digest(tmp_path) == before, "kb check must not write anything"


@pytest.mark.parametrize(("case", "edit", "where", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_brief_is_reported_precisely(tmp_path, case, edit, where, message):
    docs = tiny_tree(tmp_path / "docs")
    path = docs / "briefs" / "zz-new.md"  # sorts last: a duplicate is reported here
    assert_reported(tmp_path, docs, path, edit(GOOD), where, message)


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    (docs / "briefs" / "a.md").write_text(GOOD.replace("rating: promising", "rating: proven"))
    (docs / "briefs" / "b.md").write_text(brief_text("Another", ("guns",)).replace("Start small.", "TODO"))
    result = run_check(docs)
    assert result.exit_code == 1
    assert "a.md:8: unknown evidence rating 'proven'" in result.output
    assert "b.md:6: unknown core area 'guns'" in result.output
    assert "template placeholder 'TODO'" in result.output


def test_placeholders_in_code_are_examples_not_leftovers(tmp_path):
    docs = tiny_tree(tmp_path / "docs")
    (docs / "briefs" / "bad.md").write_text(
        GOOD.replace("Start small.", "Replace every `TODO` in the file.\n\n```\nTODO: x\n```")
    )
    assert run_check(docs).exit_code == 0


def test_the_repository_content_passes():
    result = runner.invoke(
        app, ["check"], env={"KB_MKDOCS_CONFIG": str(MKDOCS), "KB_DOCS_DIR": str(MKDOCS.parent / "docs")}
    )
    assert result.exit_code == 0, result.output
