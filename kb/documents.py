"""Documents: every Markdown file under the docs folder, parsed and validated.

A document's id is its path under the docs folder without ``.md``. Front matter is YAML, split
off with python-frontmatter and validated with pydantic; every problem is reported with the line
it stands on, so ``kb check`` can print ``path:line: message``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import ContentError, Problem
from kb.taxonomy import Taxonomy

# Keys MkDocs and Material read from front matter; allowed alongside ours.
_MKDOCS_KEYS = {"hide", "template", "search", "status", "icon", "description", "tags", "subtitle"}
# Words that mark an unfinished draft (the brief template uses TODO).
_PLACEHOLDER = re.compile(r"\b(TODO|FIXME|lorem ipsum)\b")
_INLINE_CODE = re.compile(r"`[^`]*`")
# The site's templates print titles and summaries as they are, and Markdown passes raw HTML
# through: content that could run in a reader's browser is refused at the door.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]")
_ACTIVE_HTML = re.compile(r"<\s*(script|iframe|object|embed|form|style)\b|\son[a-z]+\s*=|javascript:",
                          re.IGNORECASE)
# Briefs share one shape so that readers (and search anchors) find the same sections everywhere.
BRIEF_SECTIONS = [
    "What it is",
    "The problem it addresses",
    "How it works",
    "What the evidence says",
    "Where it works best",
    "Implementing it",
    "Common pitfalls",
    "Measuring progress",
    "Related resources",
]
# Types whose page is about one taxonomy term, and the front-matter key naming it.
_SUBJECT_KEY = {"core-area": "area", "site": "site", "doj-component": "component"}


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML, but dates stay text so pydantic reports a bad one (2025-13-45) precisely."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: str
    basis: str = Field(min_length=1)


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    type: str
    updated: dt.date
    core_areas: list[str] = []
    evidence: Evidence | None = None
    components: list[str] = []
    sites: list[str] = []
    sources: list[str] = []
    area: str | None = None
    site: str | None = None
    component: str | None = None
    # MkDocs / Material keys, passed through untouched
    hide: list[str] = []
    template: str | None = None
    search: dict[str, Any] | None = None
    status: str | None = None
    icon: str | None = None
    description: str | None = None
    tags: list[str] = []
    subtitle: str | None = None


@dataclass
class Document:
    id: str
    path: Path  # relative to the docs folder
    meta: FrontMatter
    body: str
    body_line: int  # the file line on which the body starts
    key_lines: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def type(self) -> str:
        return self.meta.type

    @property
    def url(self) -> str:
        """The page's URL under ``use_directory_urls``."""
        if self.id == "index":
            return "/"
        if self.id.endswith("/index"):
            return "/" + self.id[: -len("index")]
        return f"/{self.id}/"

    def line_of(self, *key: Any) -> int:
        """The file line of a front-matter key (or list item), else the first line."""
        while key:
            if key in self.key_lines:
                return self.key_lines[key]
            key = key[:-1]
        return 1


def load_documents(docs_dir: Path, taxonomy: Taxonomy) -> list[Document]:
    """Load and validate every Markdown file; raise ContentError listing every problem."""
    docs, problems = parse_documents(docs_dir, taxonomy)
    if problems:
        raise ContentError(problems)
    return docs


def parse_documents(docs_dir: Path, taxonomy: Taxonomy) -> tuple[list[Document], list[Problem]]:
    """Parse every Markdown file under ``docs_dir``; return the good ones and all problems."""
    docs: list[Document] = []
    problems: list[Problem] = []
    if not docs_dir.is_dir():
        raise ContentError([Problem(str(docs_dir), 1, "the docs folder does not exist")])
    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir)
        if rel.parts[0] == "overrides":
            continue
        doc, found = parse_document(path, rel, taxonomy)
        problems += found
        if doc is not None:
            docs.append(doc)
    return docs, problems


def parse_document(
    path: Path, rel: Path, taxonomy: Taxonomy
) -> tuple[Document | None, list[Problem]]:
    shown = str(path)

    def problem(line: int, message: str) -> Problem:
        return Problem(shown, line, message)

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [problem(1, f"the file is not UTF-8 text ({exc.reason})")]
    if not text.strip():
        return None, [problem(1, "the file is empty; a page needs front matter and a body")]
    handler = frontmatter.YAMLHandler()
    if not handler.detect(text):
        return None, [problem(1, "missing front matter: the file must start with a '---' line, "
                                 "then YAML fields (title, summary, type, updated), then '---'")]
    try:
        fm_text, body = handler.split(text)
    except ValueError:
        return None, [problem(1, "front matter opened with '---' on line 1 is never closed; "
                                 "add a '---' line after the last field")]
    # fm_text starts right after the opening '---', so its line 0 is file line 1.
    body_line = text[: len(text) - len(body)].count("\n") + 1
    try:
        node = yaml.compose(fm_text, Loader=_FrontMatterLoader)
        raw = yaml.load(fm_text, Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [problem(line, f"invalid YAML in front matter: {what}")]
    if not isinstance(raw, dict):
        return None, [problem(2, "front matter must be YAML fields (key: value), "
                                 "e.g. 'title: ...', 'type: practice-brief'")]
    key_lines = _key_lines(node)
    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        return None, [
            problem(_line(key_lines, err["loc"]), _pydantic_message(err)) for err in exc.errors()
        ]
    doc = Document(
        id=rel.with_suffix("").as_posix(),
        path=rel,
        meta=meta,
        body=body,
        body_line=body_line,
        key_lines=key_lines,
    )
    found = [problem(line, msg) for line, msg in _check_meta(doc, taxonomy)]
    found += [problem(line, msg) for line, msg in _check_body(doc, text)]
    return doc, found


def _check_meta(doc: Document, tax: Taxonomy) -> list[tuple[int, str]]:
    m = doc.meta
    out: list[tuple[int, str]] = []

    def unknown(kind: str, key: str, value: str, allowed: list[str], *loc: Any) -> None:
        out.append((doc.line_of(key, *loc),
                    f"unknown {kind} '{value}' in '{key}'; allowed: {', '.join(allowed)}"))

    for key in ("title", "summary"):
        if _MARKUP.search(getattr(m, key)):
            out.append((doc.line_of(key), f"'{key}' must be plain text, without HTML tags"))
    if m.type not in tax.type_slugs:
        unknown("document type", "type", m.type, tax.type_slugs)
    for i, a in enumerate(m.core_areas):
        if a not in tax.area_slugs:
            unknown("core area", "core_areas", a, tax.area_slugs, i)
    if len(set(m.core_areas)) != len(m.core_areas):
        out.append((doc.line_of("core_areas"), "'core_areas' lists an area twice"))
    if len(m.core_areas) > 3:
        out.append((doc.line_of("core_areas"),
                    f"'core_areas' has {len(m.core_areas)} areas; at most 3 (primary first)"))
    if m.type in ("practice-brief", "core-area") and not m.core_areas:
        out.append((doc.line_of("core_areas"),
                    f"a {m.type} needs 'core_areas': 1 to 3 of {', '.join(tax.area_slugs)}"))
    for i, c in enumerate(m.components):
        if c not in tax.component_slugs:
            unknown("DOJ component", "components", c, tax.component_slugs, i)
    for i, s in enumerate(m.sites):
        if s not in tax.site_slugs:
            unknown("site", "sites", s, tax.site_slugs, i)
    if m.evidence and m.evidence.rating not in tax.rating_slugs:
        unknown("evidence rating", "evidence", m.evidence.rating, tax.rating_slugs, "rating")
    if m.updated > dt.date.today():
        out.append((doc.line_of("updated"),
                    f"'updated' is {m.updated.isoformat()}, a date in the future; "
                    "use the date of your last edit (YYYY-MM-DD)"))
    if m.type == "practice-brief":
        if m.evidence is None:
            out.append((doc.line_of("evidence"),
                        "a practice-brief needs 'evidence' with 'rating' "
                        f"({', '.join(tax.rating_slugs)}) and 'basis' (the review it rests on)"))
        if not m.sources:
            out.append((doc.line_of("sources"),
                        "a practice-brief needs 'sources': a list of the public sources it cites "
                        "(author, year, title, publisher or journal)"))
    subject_key = _SUBJECT_KEY.get(m.type)
    if subject_key:
        allowed = {"area": tax.area_slugs, "site": tax.site_slugs,
                   "component": tax.component_slugs}[subject_key]
        value = getattr(m, subject_key)
        if value is None:
            out.append((1, f"a {m.type} page needs '{subject_key}': one of {', '.join(allowed)}"))
        elif value not in allowed:
            unknown(subject_key.replace("area", "core area"), subject_key, value, allowed)
    return out


def _check_body(doc: Document, text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    # Placeholders count in prose, not where the text shows code (`TODO` written as an example).
    front = text.split("\n")[: doc.body_line - 1]
    for i, line in enumerate(front + _outside_fences(doc.body), start=1):
        if not line.lstrip().startswith("#") or i >= doc.body_line:
            match = _PLACEHOLDER.search(_INLINE_CODE.sub("", line))
            if match:
                out.append((i, f"template placeholder '{match.group(0)}' left in the text; "
                               "replace it with real content before merging"))
    for n, line in enumerate(_outside_fences(doc.body)):
        if _ACTIVE_HTML.search(_INLINE_CODE.sub("", line)):
            out.append((doc.body_line + n, "scripts, frames, forms, styles and event handlers "
                                           "are not allowed in content; write plain Markdown"))
    if doc.type == "practice-brief":
        heads = [(doc.body_line + n, line[3:].strip())
                 for n, line in enumerate(_outside_fences(doc.body)) if line.startswith("## ")]
        h1 = [doc.body_line + n for n, line in enumerate(_outside_fences(doc.body))
              if line.startswith("# ")]
        if h1:
            out.append((h1[0], "a brief has no '# ' heading in its body; "
                               "the page title comes from 'title' in the front matter"))
        titles = [t for _, t in heads]
        for required in BRIEF_SECTIONS:
            if required not in titles:
                out.append((doc.body_line, f"missing section '## {required}'; a brief has these "
                                           f"sections in order: {', '.join(BRIEF_SECTIONS)}"))
        order = [t for t in titles if t in BRIEF_SECTIONS]
        expected = [t for t in BRIEF_SECTIONS if t in order]
        if order != expected:
            line = next(n for (n, t) in heads if t in BRIEF_SECTIONS
                        and order.index(t) != expected.index(t))
            out.append((line, f"sections out of order; a brief's order is: "
                              f"{', '.join(BRIEF_SECTIONS)}"))
    return out


def _outside_fences(body: str) -> list[str]:
    """Body lines with fenced code blanked, so a '#' in code is not taken for a heading."""
    lines, fence = [], None
    for line in body.split("\n"):
        stripped = line.lstrip()
        marker = stripped[:3]
        if fence is None and marker in ("```", "~~~"):
            fence = marker
            lines.append("")
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return lines


def _key_lines(node: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each front-matter key path, e.g. ('core_areas', 1), to its 1-based file line."""
    out: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = path + (k.value,)
                out[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                out[path + (i,)] = v.start_mark.line + 1
                walk(v, path + (i,))

    if node is not None:
        walk(node, ())
    return out


def _line(key_lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    while loc:
        if loc in key_lines:
            return key_lines[loc]
        loc = loc[:-1]
    return 1


def _pydantic_message(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if kind == "missing":
        return f"missing required field '{loc}'"
    if kind == "extra_forbidden":
        ours = [f for f in FrontMatter.model_fields if f not in _MKDOCS_KEYS]
        if len(err["loc"]) > 1:
            ours = list(Evidence.model_fields)
        return f"unknown field '{loc}'; allowed fields: {', '.join(ours)}"
    if kind.startswith("date") or loc == "updated":
        return f"'{loc}' must be a date written YYYY-MM-DD (e.g. 2026-01-31), got {err['input']!r}"
    if kind == "string_too_short":
        return f"'{loc}' is empty; write it out"
    if kind == "list_type":
        return f"'{loc}' must be a list (one '- item' per line)"
    if kind == "string_type":
        return f"'{loc}' must be text"
    return f"'{loc}': {err['msg']}"
