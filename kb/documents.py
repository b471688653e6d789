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
from kb.sources import Source, check_sources, parse_source
from kb.taxonomy import Taxonomy

# Keys MkDocs and Material read from front matter; allowed alongside ours.
_MKDOCS_KEYS = {"hide", "template", "search", "status", "icon", "description", "tags", "subtitle"}
# Words that mark an unfinished draft (the brief template uses TODO).
_PLACEHOLDER = re.compile(r"\b(TODO|FIXME|lorem ipsum)\b")
_INLINE_CODE = re.compile(r"`[^`]*`")
# The site's templates print titles and summaries as they are, and Markdown passes raw HTML
# through: content that could run in a reader's browser is refused at the door.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]")
_ACTIVE_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|form|style)\b|\son[a-z]+\s*=|javascript:", re.IGNORECASE
)
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
    # The rating's own source (the CrimeSolutions or Campbell page, or the review), one of the
    # document's sources, so the evidence box can link its basis.
    url: str | None = None


class Agency(BaseModel):
    """A party to an exchange that is not a PSP site, named as the source names it."""

    model_config = ConfigDict(extra="forbid")
    agency: str = Field(min_length=1)
    place: str | None = None


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
    # A plain string (the older form) or a structured Source; checked item by item so that each
    # problem is reported at its own line.
    sources: list[str | dict[str, Any]] = []
    # Briefs this page shows at work in a real city (peer exchanges, case studies).
    practices: list[str] = []
    area: str | None = None
    site: str | None = None
    component: str | None = None
    # peer-exchange
    host: str | dict[str, Any] | None = None
    visitors: list[str | dict[str, Any]] = []
    date: str | None = None
    format: str | None = None
    # community-of-practice and toolkit
    audience: list[str] = []
    meets: str | None = None
    # case-study
    period: str | None = None
    psp_timing: str | None = None
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

    @property
    def site_slugs(self) -> list[str]:
        """Every PSP site the page is about: its sites, an exchange's host and visitors."""
        parties = [self.meta.host, *self.meta.visitors]
        named = [p for p in [*self.meta.sites, *parties] if isinstance(p, str)]
        return list(dict.fromkeys(named))

    @property
    def sources(self) -> list[Source | str]:
        """The sources, structured where the front matter is (call only on a valid document)."""
        return [parse_source(s) for s in self.meta.sources]

    def line_of(self, *key: Any) -> int:
        """The file line of a front-matter key (or list item), else the first line."""
        while key:
            if key in self.key_lines:
                return self.key_lines[key]
            key = key[:-1]
        return 1


def load_documents(docs_dir: Path, taxonomy: Taxonomy) -> list[Document]:
    """Load and validate every Markdown file; raise ContentError listing every error
    (warnings, such as a source not yet written as fields, do not stop a load)."""
    docs, problems = parse_documents(docs_dir, taxonomy)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
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


def parse_document(path: Path, rel: Path, taxonomy: Taxonomy) -> tuple[Document | None, list[Problem]]:
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
        return None, [
            problem(
                1,
                "missing front matter: the file must start with a '---' line, "
                "then YAML fields (title, summary, type, updated), then '---'",
            )
        ]
    try:
        fm_text, body = handler.split(text)
    except ValueError:
        return None, [
            problem(
                1,
                "front matter opened with '---' on line 1 is never closed; "
                "add a '---' line after the last field",
            )
        ]
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
        return None, [
            problem(
                2, "front matter must be YAML fields (key: value), e.g. 'title: ...', 'type: practice-brief'"
            )
        ]
    key_lines = _key_lines(node)
    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        return None, [problem(_line(key_lines, err["loc"]), _pydantic_message(err)) for err in exc.errors()]
    doc = Document(
        id=rel.with_suffix("").as_posix(),
        path=rel,
        meta=meta,
        body=body,
        body_line=body_line,
        key_lines=key_lines,
    )
    found = [problem(line, msg) for line, msg in _check_meta(doc, taxonomy)]
    found += [
        Problem(shown, line, msg, severity)
        for line, msg, severity in check_sources(doc, taxonomy.doc_type(meta.type))
    ]
    found += [problem(line, msg) for line, msg in _check_body(doc, text, taxonomy)]
    return doc, found


# What each required field should hold, for the message when it is missing.
_FIELD_HINTS = {
    "core_areas": "1 to 3 core areas, primary first: {areas}",
    "evidence": "'rating' ({ratings}) and 'basis' (the review or evaluation it rests on)",
    "host": "the host's site slug, or {{agency: ..., place: ...}} for an agency outside PSP",
    "visitors": "a list of the visiting sites' slugs (or {{agency: ..., place: ...}} entries)",
    "date": "when it took place, YYYY-MM or YYYY-MM-DD (YYYY-Qn if the source gives only that)",
    "format": "one of {formats}",
    "audience": "a list of the roles it is for: {roles}",
    "sites": "a list of the PSP sites it is about: site slugs such as {site}",
    "period": "when the program ran: YYYY, YYYY-YYYY or YYYY-present",
    "psp_timing": "one of {timings} (the program's start relative to the city's PSP engagement)",
    "area": "one of {areas}",
    "site": "one of the site slugs, such as {site}",
    "component": "one of {components}",
}
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
# A newsletter that reports "exchanges from October through December 2019" dates them no finer.
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}|present))?$")


def _check_meta(doc: Document, tax: Taxonomy) -> list[tuple[int, str]]:
    m = doc.meta
    out: list[tuple[int, str]] = []
    dtype = tax.doc_type(m.type)

    def unknown(kind: str, key: str, value: Any, allowed: list[str], *loc: Any) -> None:
        out.append(
            (doc.line_of(key, *loc), f"unknown {kind} '{value}' in '{key}'; allowed: {', '.join(allowed)}")
        )

    for key in ("title", "summary"):
        if _MARKUP.search(getattr(m, key)):
            out.append((doc.line_of(key), f"'{key}' must be plain text, without HTML tags"))
    if dtype is None:
        unknown("document type", "type", m.type, tax.type_slugs)
    for i, a in enumerate(m.core_areas):
        if a not in tax.area_slugs:
            unknown("core area", "core_areas", a, tax.area_slugs, i)
    if len(set(m.core_areas)) != len(m.core_areas):
        out.append((doc.line_of("core_areas"), "'core_areas' lists an area twice"))
    if len(m.core_areas) > 3:
        out.append(
            (
                doc.line_of("core_areas"),
                f"'core_areas' has {len(m.core_areas)} areas; at most 3 (primary first)",
            )
        )
    for i, c in enumerate(m.components):
        if c not in tax.component_slugs:
            unknown("DOJ component", "components", c, tax.component_slugs, i)
    for i, s in enumerate(m.sites):
        if s not in tax.site_slugs:
            unknown("site", "sites", s, tax.site_slugs, i)
    for i, r in enumerate(m.audience):
        if r not in tax.role_slugs:
            unknown("role", "audience", r, tax.role_slugs, i)
    if m.evidence and m.evidence.rating not in tax.rating_slugs:
        unknown("evidence rating", "evidence", m.evidence.rating, tax.rating_slugs, "rating")
    if m.updated > dt.date.today():
        out.append(
            (
                doc.line_of("updated"),
                f"'updated' is {m.updated.isoformat()}, a date in the future; "
                "use the date of your last edit (YYYY-MM-DD)",
            )
        )
    if m.format is not None and m.format not in [f.slug for f in tax.exchange_formats]:
        unknown("format", "format", m.format, [f.slug for f in tax.exchange_formats])
    if m.psp_timing is not None and m.psp_timing not in [t.slug for t in tax.psp_timings]:
        unknown("PSP timing", "psp_timing", m.psp_timing, [t.slug for t in tax.psp_timings])
    if m.date is not None:
        out += _check_event_date(doc)
    if m.period is not None and not _PERIOD.match(str(m.period)):
        out.append(
            (doc.line_of("period"), f"'period' must be YYYY, YYYY-YYYY or YYYY-present, got {m.period!r}")
        )
    out += _check_parties(doc, tax)
    if dtype is not None:
        hints = {
            k: v.format(
                areas=", ".join(tax.area_slugs),
                ratings=", ".join(tax.rating_slugs),
                formats=", ".join(f.slug for f in tax.exchange_formats),
                roles=", ".join(tax.role_slugs),
                site=tax.site_slugs[0],
                timings=", ".join(t.slug for t in tax.psp_timings),
                components=", ".join(tax.component_slugs),
            )
            for k, v in _FIELD_HINTS.items()
        }
        for key in dtype.requires:
            if getattr(m, key) in (None, [], ""):
                out.append((doc.line_of(key), f"a {m.type} needs '{key}': {hints[key]}"))
    subject_key = _SUBJECT_KEY.get(m.type)
    if subject_key:
        allowed = {"area": tax.area_slugs, "site": tax.site_slugs, "component": tax.component_slugs}[
            subject_key
        ]
        value = getattr(m, subject_key)
        if value is not None and value not in allowed:
            unknown(subject_key.replace("area", "core area"), subject_key, value, allowed)
    return out


def _check_event_date(doc: Document) -> list[tuple[int, str]]:
    line = doc.line_of("date")
    quarter = _QUARTER.match(str(doc.meta.date))
    match = _YEAR_MONTH.match(str(doc.meta.date))
    day: int | None
    if quarter:
        year, month, day = int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, None
    elif match:
        year, month = int(match.group(1)), int(match.group(2))
        day = int(match.group(3)) if match.group(3) else None
    else:
        return [
            (
                line,
                f"'date' must be YYYY-MM or YYYY-MM-DD (e.g. \"2019-11\"), or YYYY-Qn "
                f"when the source gives only the quarter, got {doc.meta.date!r}",
            )
        ]
    try:
        first = dt.date(year, month, day or 1)
    except ValueError:
        return [(line, f"'date' {doc.meta.date!r} is not a real date")]
    today = dt.date.today()
    if first > today:
        return [
            (line, f"'date' is {doc.meta.date}, in the future; record an exchange once it has taken place")
        ]
    return []


def _check_parties(doc: Document, tax: Taxonomy) -> list[tuple[int, str]]:
    """An exchange's host and visitors: site slugs, or named agencies outside PSP."""
    out: list[tuple[int, str]] = []
    m = doc.meta
    parties = ([("host", (), m.host)] if m.host is not None else []) + [
        ("visitors", (i,), v) for i, v in enumerate(m.visitors)
    ]
    for key, loc, party in parties:
        line = doc.line_of(key, *loc)
        if isinstance(party, str):
            if party not in tax.site_slugs:
                out.append(
                    (
                        line,
                        f"unknown site '{party}' in '{key}'; allowed: "
                        f"{', '.join(tax.site_slugs)}, or {{agency: ..., place: ...}} "
                        "for an agency outside PSP",
                    )
                )
        else:
            try:
                Agency.model_validate(party)
            except ValidationError as exc:
                err = exc.errors()[0]
                out.append(
                    (
                        line,
                        f"'{key}' entry {party!r} must be a site slug or "
                        f"{{agency: ..., place: ...}}: {_pydantic_message(err)}",
                    )
                )
    if isinstance(m.host, str) and m.host in m.visitors:
        out.append((doc.line_of("visitors"), f"'{m.host}' is both the host and a visitor"))
    return out


def _check_body(doc: Document, text: str, tax: Taxonomy) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    # Placeholders count in prose, not where the text shows code (`TODO` written as an example).
    front = text.split("\n")[: doc.body_line - 1]
    for i, line in enumerate(front + _outside_fences(doc.body), start=1):
        if not line.lstrip().startswith("#") or i >= doc.body_line:
            match = _PLACEHOLDER.search(_INLINE_CODE.sub("", line))
            if match:
                out.append(
                    (
                        i,
                        f"template placeholder '{match.group(0)}' left in the text; "
                        "replace it with real content before merging",
                    )
                )
    for n, line in enumerate(_outside_fences(doc.body)):
        if _ACTIVE_HTML.search(_INLINE_CODE.sub("", line)):
            out.append(
                (
                    doc.body_line + n,
                    "scripts, frames, forms, styles and event handlers "
                    "are not allowed in content; write plain Markdown",
                )
            )
    dtype = tax.doc_type(doc.type)
    if dtype is None or not dtype.sections:
        return out
    kind = dtype.name.lower()
    lines = _outside_fences(doc.body)
    heads = [(doc.body_line + n, line[3:].strip()) for n, line in enumerate(lines) if line.startswith("## ")]
    h1 = [doc.body_line + n for n, line in enumerate(lines) if line.startswith("# ")]
    if h1:
        out.append(
            (
                h1[0],
                f"a {kind} has no '# ' heading in its body; "
                "the page title comes from 'title' in the front matter",
            )
        )
    required = dtype.sections
    titles = [t for _, t in heads]
    for section in required:
        if section not in titles:
            out.append(
                (
                    doc.body_line,
                    f"missing section '## {section}'; a {kind} has these "
                    f"sections in order: {', '.join(required)}",
                )
            )
    order = [t for t in titles if t in required]
    expected = [t for t in required if t in order]
    if order != expected:
        at = next(n for (n, t) in heads if t in required and order.index(t) != expected.index(t))
        out.append((at, f"sections out of order; a {kind}'s order is: {', '.join(required)}"))
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
