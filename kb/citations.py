"""In-text author-year citations, linked to the page's own list of sources.

A brief cites "(Braga et al., 2018)", "(O'Shea & Nicholls, 2003; Santos & Taylor, 2014)" or
"Santos & Taylor (2014)" in its prose and lists the works in its front matter. The site renders
that list with one anchor per entry, ``#source-N`` with N counted from 1 in front-matter order
(the ``sources`` macro in docs/overrides/partials/kb-macros.html). ``link_citations`` turns each
citation in a page's HTML that names exactly one of its structured sources into a link to that
entry.

Matching: a citation's first name is the first author's surname (or an organisation's name, as
in "(International Association of Crime Analysts, 2014)"), a source's is the text before the
first comma of ``authors``; with the year they must agree. When several sources agree, the
citation's second author, its form (one name, two, "et al." or "and colleagues") and its letter
(2018a, 2018b: the order of their titles, as APA assigns them) pick one. A citation that matches
no source, or still more than one, stays plain text: a wrong link is worse than none. Text inside
headings, code and existing links is left alone.

Limits: only structured sources with ``authors`` and ``year`` can be matched; a citation that
names a work by its venue ("(MinnPost, 2020)"), an abbreviation ("(ATF, 2023)" for the Bureau
of Alcohol, Tobacco, Firearms and Explosives) or its title stays plain text; so does a citation
broken by markup (an emphasised name) or listing several years for one author ("Braga, 2018,
2019").
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from kb.sources import Source

# Inside these elements text is not prose to link: a link in a heading would hijack its
# permalink, a link inside a link is invalid HTML, and code is quoted as it is.
_SKIP = {"a", "code", "pre", "kbd", "samp", "script", "style", "h1", "h2", "h3", "h4", "h5", "h6"}
_TAG = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9]*)")
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area", "col", "embed"}
# A given name in an APA author list ("A. A.", "D. L.", "J.-P."): what is not one is a surname.
_INITIALS = re.compile(r"^(?:[A-Z]\.(?:\s*-?\s*)?)+$|^(?:Jr|Sr|II|III|IV)\.?$")
_YEAR = r"(?P<year>(?:1[89]|20)\d\d)(?P<letter>[a-z])?(?:,\s*(?:p|pp|para)\.\s*[\d\u2013-]+)?"
# A co-author's surname as prose writes it: "Taylor", "O'Shea", "Van Ryzin", "Smith-Jones".
_NAME = r"(?:(?:van|von|de|der|del|la|le|du|da)\s+)*[A-Z][\w'\u2019-]*"
_PREFIX = re.compile(r"^(?:see\s+also|see|e\.g\.,?|cf\.|i\.e\.,?)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class _Entry:
    number: int  # the entry's N in #source-N
    surnames: tuple[str, ...]  # normalised; the first may be an organisation's name
    year: int
    title: str


def author_surnames(authors: str) -> list[str]:
    """Surnames in an APA author list, in order ("Braga, A. A., Weisburd, D., & Turchan, B."
    gives Braga, Weisburd, Turchan); an organisation (no comma) is one name."""
    parts = [p.strip().removeprefix("&").strip() for p in authors.split(",")]
    names = [p for p in parts if p and not _INITIALS.match(p)]
    return [p.removeprefix("and ").strip() for p in names]


def link_citations(page_html: str, sources: list[Source | str]) -> str:
    """Link every in-text citation that names exactly one of ``sources`` to ``#source-N``."""
    entries = [
        _Entry(n, tuple(_norm(a) for a in author_surnames(s.authors)), s.year, s.title)
        for n, s in enumerate(sources, 1)
        if isinstance(s, Source) and s.authors and s.year is not None
    ]
    if not entries:
        return page_html
    finder = _Finder(
        entries,
        [
            name
            for s in sources
            if isinstance(s, Source) and s.authors
            for name in author_surnames(s.authors)[:1]
        ],
    )
    out: list[str] = []
    skipping: list[str] = []
    for piece in _TAG.split(page_html):
        if piece.startswith("<"):
            _track(piece, skipping)
            out.append(piece)
        elif piece and not skipping:
            out.append(finder.link(piece))
        else:
            out.append(piece)
    return "".join(out)


def _track(tag: str, open_skips: list[str]) -> None:
    """Keep the stack of skipped elements the text is inside."""
    m = _TAG_NAME.match(tag)
    if not m or tag.startswith("<!--"):
        return
    closing, name = m.group(1) == "/", m.group(2).lower()
    if name in _VOID or tag.rstrip(">").endswith("/"):
        return
    if closing:
        if name in open_skips:
            del open_skips[len(open_skips) - 1 - open_skips[::-1].index(name) :]
    elif name in _SKIP:
        open_skips.append(name)


class _Finder:
    def __init__(self, entries: list[_Entry], leads: list[str]) -> None:
        self.entries = entries
        # Only the page's own first authors can start a citation: this keeps ordinary
        # capitalised words ("In 2018 (...)") out, and lets an organisation's name contain
        # lowercase words and "and".
        alternatives = sorted({_pattern(lead) for lead in leads}, key=len, reverse=True)
        names = (
            rf"(?P<lead>{'|'.join(alternatives)})"
            rf"(?P<rest>\s+(?:et\s+al\.?|and\s+colleagues)"
            rf"|(?:,\s+{_NAME})*,?\s+(?:&|and)\s+{_NAME})?"
        )
        self.narrative = re.compile(rf"(?<![\w'\u2019]){names}\s+\({_YEAR}\)")
        self.parenthetical = re.compile(rf"^{names},?\s+{_YEAR}$")

    def link(self, text_html: str) -> str:
        text = html.unescape(text_html)
        spans: list[tuple[int, int, int]] = []  # (start, end, entry number)
        for group in re.finditer(r"\(([^()]*)\)", text):
            offset = group.start(1)
            for part in re.finditer(r"[^;]+", group.group(1)):
                cite = part.group(0).strip()
                cite = cite[len(m.group(0)) :] if (m := _PREFIX.match(cite)) else cite
                found = self.parenthetical.match(cite)
                number = found and self._resolve(found)
                if number:
                    start = offset + part.start() + part.group(0).index(cite)
                    spans.append((start, start + len(cite), number))
        for found in self.narrative.finditer(text):
            number = self._resolve(found)
            if number:
                spans.append((found.start(), found.end(), number))
        if not spans:
            return text_html
        out, at = [], 0
        for start, end, number in sorted(spans):
            if start < at:  # overlaps a citation already linked
                continue
            entry = next(e for e in self.entries if e.number == number)
            out += [
                html.escape(text[at:start], quote=False),
                f'<a class="kb-cite" href="#source-{number}" '
                f'title="{html.escape(entry.title)}">'
                f"{html.escape(text[start:end], quote=False)}</a>",
            ]
            at = end
        out.append(html.escape(text[at:], quote=False))
        return "".join(out)

    def _resolve(self, found: re.Match[str]) -> int | None:
        lead, rest = _norm(found.group("lead")), (found.group("rest") or "").strip()
        year, letter = int(found.group("year")), found.group("letter")
        same = [e for e in self.entries if e.surnames[0] == lead and e.year == year]
        if len(same) > 1:
            if rest.startswith(("et al", "and colleagues")):
                same = _narrow(same, lambda e: len(e.surnames) >= 3)
            elif rest:
                named = [_norm(n) for n in re.split(r",\s*|\s*&\s*|(?:^|\s+)and\s+", rest) if n.strip()]
                same = _narrow(same, lambda e: e.surnames[1:2] == tuple(named[:1]))
                same = _narrow(same, lambda e: list(e.surnames[1:]) == named)
            else:
                same = _narrow(same, lambda e: len(e.surnames) == 1)
        if letter:  # APA letters same-author, same-year works in the order of their titles
            same = sorted(same, key=lambda e: _norm(e.title))
            index = ord(letter) - ord("a")
            return same[index].number if index < len(same) else None
        return same[0].number if len(same) == 1 else None


def _narrow(entries: list[_Entry], keep) -> list[_Entry]:
    """The entries that fit the citation's form, or all of them when none does."""
    return [e for e in entries if keep(e)] or entries


def _pattern(name: str) -> str:
    """A regex for a surname as prose may write it: any apostrophe, any run of spaces."""
    out = []
    for char in name:
        if char in "'\u2019":
            out.append("['\u2019]")
        elif char.isspace():
            out.append(r"\s+")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _norm(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    return " ".join("".join(c for c in name if not unicodedata.combining(c)).casefold().split())
