"""Markdown rendered exactly as the site renders it, and split into heading sections.

The search index links to ``page/#anchor``; those anchors must be the ids MkDocs writes into the
HTML. Rather than re-implement Python-Markdown's slugify and de-duplication, we render with
Python-Markdown itself, with the extensions and settings listed in ``mkdocs.yml``, and read the
ids back from the HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import yaml

# MkDocs always adds these, whatever mkdocs.yml says (mkdocs.config.config_options.MarkdownExtensions).
_MKDOCS_BUILTINS = ["toc", "tables", "fenced_code"]
_HEADING = re.compile(r"h([1-6])")
_BLOCK_TAGS = {
    "p",
    "li",
    "ul",
    "ol",
    "div",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "blockquote",
    "dt",
    "dd",
    "details",
    "summary",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}


@dataclass
class Section:
    """Text under one heading (level 0 is the text before the first heading)."""

    level: int
    title: str
    anchor: str
    path: list[str]
    text: str = ""


@dataclass
class RenderedPage:
    sections: list[Section]
    ids: set[str] = field(default_factory=set)


class _TolerantLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without executing its ``!ENV`` or ``!!python/name`` tags (they read as
    None); ``!relative $config_dir/x`` is a path under the config's folder, as MkDocs reads it."""

    config_dir = Path(".")


def _relative(loader: _TolerantLoader, node: yaml.Node) -> str | None:
    value = loader.construct_scalar(node)
    if isinstance(value, str) and value.startswith("$config_dir"):
        return str(loader.config_dir / value.removeprefix("$config_dir").lstrip("/"))
    return None


_TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)
_TolerantLoader.add_constructor("!relative", _relative)


@lru_cache(maxsize=8)
def markdown_settings(mkdocs_config: Path | None) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The Markdown extensions and their settings as mkdocs.yml declares them."""
    names = list(_MKDOCS_BUILTINS)
    configs: dict[str, dict[str, Any]] = {}
    if mkdocs_config is not None and mkdocs_config.is_file():
        loader = type("_Loader", (_TolerantLoader,), {"config_dir": mkdocs_config.parent})
        raw = yaml.load(mkdocs_config.read_text(encoding="utf-8"), Loader=loader) or {}
        for item in raw.get("markdown_extensions") or []:
            name, cfg = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            if name not in names:
                names.append(name)
            # A setting whose tag kb cannot evaluate is left to the extension's default.
            configs[name] = {k: v for k, v in (cfg or {}).items() if v is not None}
    return names, configs


def render_page(body: str, mkdocs_config: Path | None = Path("mkdocs.yml")) -> RenderedPage:
    """Render a page body and split it into sections, one per heading."""
    names, configs = markdown_settings(mkdocs_config.resolve() if mkdocs_config else None)
    md = markdown.Markdown(extensions=names, extension_configs=configs)
    parser = _SectionParser()
    parser.feed(md.convert(body))
    parser.close()
    return RenderedPage(sections=parser.finish(), ids=parser.ids)


class _SectionParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self._sections = [Section(level=0, title="", anchor="", path=[])]
        self._parts: list[str] = []
        self._heading: tuple[int, str] | None = None
        self._heading_text: list[str] = []
        self._skip_depth = 0  # inside the pilcrow permalink Python-Markdown appends

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if self._skip_depth or (tag == "a" and "headerlink" in (a.get("class") or "")):
            self._skip_depth += 1
            return
        m = _HEADING.fullmatch(tag)
        if m and a.get("id"):
            self._flush()
            self._heading = (int(m.group(1)), a["id"] or "")
            self._heading_text = []
        elif tag in _BLOCK_TAGS:
            self._parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            self._skip_depth -= 1
            return
        if self._heading and _HEADING.fullmatch(tag):
            level, anchor = self._heading
            title = _squash("".join(self._heading_text))
            parents = [s for s in self._sections if 0 < s.level < level]
            path = (parents[-1].path if parents else []) + [title]
            self._sections.append(Section(level=level, title=title, anchor=anchor, path=path))
            self._heading = None
        elif tag in _BLOCK_TAGS:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        (self._heading_text if self._heading else self._parts).append(data)

    def _flush(self) -> None:
        self._sections[-1].text += "".join(self._parts)
        self._parts = []

    def finish(self) -> list[Section]:
        self._flush()
        for s in self._sections:
            s.text = _squash_paragraphs(s.text)
        return self._sections


def _squash(text: str) -> str:
    return " ".join(text.split())


def _squash_paragraphs(text: str) -> str:
    lines = (_squash(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
