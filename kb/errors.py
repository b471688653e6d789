"""The knowledge base's errors, translated at the edges (CLI: message and exit 1; API: 4xx/503).

KBError
├── ContentError        one or more content problems, each with path and line
├── TaxonomyError       the taxonomy file itself is malformed
├── IndexError_         base for index problems
│   ├── IndexNotFound   no index has been built at that location
│   ├── IndexMismatch   built with another model or schema version
│   └── IndexCorrupt    missing or unreadable files in an index version
├── UnknownDocument     no document with that id
└── InvalidQuery        a query or filter outside what is allowed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# A warning marks content that works but is not finished to the current standard.
Severity = Literal["error", "warning"]


class KBError(Exception):
    """Base class of every error the knowledge base raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One content problem, printed as ``path:line: message``.

    A warning (``path:line: warning: message``) marks content that works but is not finished
    to the current standard; it fails only ``kb check --strict``."""

    path: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"


class ContentError(KBError):
    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TaxonomyError(KBError):
    pass


class IndexError_(KBError):  # noqa: N801 - the builtin IndexError means something else
    pass


class IndexNotFound(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class UnknownDocument(KBError):
    pass


class InvalidQuery(KBError):
    pass
