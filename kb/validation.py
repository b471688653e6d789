"""Whole-corpus checks: every document valid on its own, plus what spans documents
(duplicate titles, internal links to pages or anchors that do not exist)."""

from __future__ import annotations

import posixpath
from dataclasses import replace
from pathlib import Path

from markdown_it import MarkdownIt

from kb.documents import Document, parse_documents
from kb.errors import Problem
from kb.rendering import render_page
from kb.taxonomy import Taxonomy

_EXTERNAL = ("http://", "https://", "mailto:", "tel:", "//")


def check_content(
    docs_dir: Path,
    taxonomy: Taxonomy,
    mkdocs_config: Path | None = Path("mkdocs.yml"),
    *,
    strict: bool = False,
) -> tuple[list[Document], list[Problem]]:
    """Validate every document under ``docs_dir``; never writes anything.

    The problems include warnings (severity "warning": content that works but is not finished
    to the current standard, such as a source without a link); ``strict`` makes them errors."""
    docs, problems = parse_documents(docs_dir, taxonomy)
    problems += _duplicate_titles(docs, docs_dir)
    problems += _broken_links(docs, docs_dir, mkdocs_config)
    problems += _unknown_practices(docs, docs_dir)
    if strict:
        problems = [replace(p, severity="error") for p in problems]
    return docs, sorted(problems)


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that stop an index or site build (warnings do not)."""
    return [p for p in problems if p.severity == "error"]


def _unknown_practices(docs: list[Document], docs_dir: Path) -> list[Problem]:
    """`practices` names briefs by slug; each must be a practice brief that exists."""
    briefs = sorted(d.id.split("/", 1)[1] for d in docs if d.type == "practice-brief")
    out = []
    for doc in docs:
        for i, slug in enumerate(doc.meta.practices):
            if slug not in briefs:
                out.append(
                    Problem(
                        str(docs_dir / doc.path),
                        doc.line_of("practices", i),
                        f"unknown brief '{slug}' in 'practices'; name a brief by its "
                        f"file name under briefs/, e.g. {', '.join(briefs[:3])}",
                    )
                )
    return out


def _duplicate_titles(docs: list[Document], docs_dir: Path) -> list[Problem]:
    first: dict[str, Document] = {}
    out = []
    for doc in docs:
        key = doc.title.strip().casefold()
        if key in first:
            out.append(
                Problem(
                    str(docs_dir / doc.path),
                    doc.line_of("title"),
                    f"duplicate title '{doc.title}': "
                    f"{first[key].path.as_posix()} has the same title; titles must be "
                    "unique so readers can tell pages apart",
                )
            )
        else:
            first[key] = doc
    return out


def _broken_links(docs: list[Document], docs_dir: Path, mkdocs_config: Path | None) -> list[Problem]:
    by_id = {d.id: d for d in docs}
    ids_cache: dict[str, set[str]] = {}

    def anchors(doc_id: str) -> set[str]:
        if doc_id not in ids_cache:
            ids_cache[doc_id] = render_page(by_id[doc_id].body, mkdocs_config).ids
        return ids_cache[doc_id]

    out = []
    for doc in docs:
        for line, href in _links(doc):
            if href.startswith(_EXTERNAL) or "://" in href:
                continue
            message = _check_link(doc, href, by_id, docs_dir, anchors)
            if message:
                out.append(Problem(str(docs_dir / doc.path), line, message))
    return out


def _check_link(doc, href, by_id, docs_dir, anchors) -> str | None:
    target, _, anchor = href.partition("#")
    target = target.split("?", 1)[0]
    if not target:
        target_id = doc.id
    elif target.startswith("/"):
        return (
            f"link '{href}' is absolute; link to the Markdown file relative to this page, "
            f"e.g. '../briefs/hot-spots-analysis.md'"
        )
    else:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path.as_posix()), target))
        if resolved.endswith(".md"):
            target_id = resolved[:-3]
            if target_id not in by_id:
                return f"link '{href}' points to '{resolved}', which does not exist"
        elif resolved.endswith("/") or "." not in posixpath.basename(resolved):
            return (
                f"link '{href}' points to a folder or URL; link to the Markdown file "
                f"instead, e.g. '{target.rstrip('/')}.md'"
            )
        else:
            if not (docs_dir / resolved).is_file():
                return f"link '{href}' points to '{resolved}', which does not exist"
            return None
    if anchor and anchor not in anchors(target_id):
        known = sorted(anchors(target_id))
        return (
            f"link '{href}': '{by_id[target_id].path.as_posix()}' has no section "
            f"'#{anchor}'; its anchors are: {', '.join(known) or 'none'}"
        )
    return None


def _links(doc: Document) -> list[tuple[int, str]]:
    """(file line, href) of every Markdown link and image in the body."""
    md = MarkdownIt("commonmark").enable("table")
    out = []
    for token in md.parse(doc.body):
        if token.type != "inline" or token.map is None:
            continue
        line = doc.body_line + token.map[0]
        for child in token.children or []:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            href = (
                child.attrGet("href")
                if child.type == "link_open"
                else (child.attrGet("src") if child.type == "image" else None)
            )
            if isinstance(href, str) and href:
                out.append((line, href))
    return out
