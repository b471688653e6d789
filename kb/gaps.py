"""Content gaps: the searches that found no good match, counted for editors, privately.

What is kept, and nothing more: the query normalized (lower case, single spaces, at most 200
characters), the day (never a finer time), the match ("none" or "weak"), the core areas the
query was about, and a count. No IP address, user agent, cookie or session. Rows older than 90
days are deleted. The store is a small SQLite file beside the index (``<index>/query-log.sqlite3``)
so that it survives index rebuilds; ``KB_QUERY_LOG=off`` switches recording off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
KEEP_DAYS = 90
_MAX_CHARS = 200
_SCHEMA = """
CREATE TABLE IF NOT EXISTS gaps (
    query TEXT NOT NULL,
    day TEXT NOT NULL,
    match TEXT NOT NULL,
    areas TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (query, day, match)
)
"""


@dataclass(frozen=True)
class Gap:
    query: str
    count: int
    match: str  # the worse of the matches it got in the period
    areas: list[str]
    last_day: str


def normalize(q: str) -> str:
    text = unicodedata.normalize("NFKC", q).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.split()).strip(" ?!.,;:")[:_MAX_CHARS]


class QueryLog:
    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=2.0)
        con.execute(_SCHEMA)
        return con

    def record(self, q: str, match: str, areas: list[str], today: dt.date | None = None) -> None:
        """Count one search that ended in "none" or "weak"; other matches are not kept."""
        if match not in ("none", "weak"):
            return
        query = normalize(q)
        if not query:
            return
        day = (today or dt.date.today()).isoformat()
        with self._connect() as con:
            con.execute(
                "INSERT INTO gaps (query, day, match, areas, count) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (query, day, match) DO UPDATE SET count = count + 1, "
                "areas = excluded.areas",
                (query, day, match, json.dumps(sorted(areas))),
            )
        con.close()

    def prune(self, today: dt.date | None = None) -> int:
        """Delete what is older than 90 days; the number of rows deleted."""
        cutoff = ((today or dt.date.today()) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        with self._connect() as con:
            deleted = con.execute("DELETE FROM gaps WHERE day < ?", (cutoff,)).rowcount
        con.close()
        return deleted

    def top(self, limit: int = 20, today: dt.date | None = None) -> list[Gap]:
        """The most frequent gap queries of the last 90 days, most frequent first."""
        if not self.path.exists():
            return []
        self.prune(today)
        with self._connect() as con:
            rows = con.execute(
                "SELECT query, SUM(count), MIN(match), MAX(day), "
                "(SELECT areas FROM gaps g2 WHERE g2.query = g.query ORDER BY day DESC LIMIT 1) "
                "FROM gaps g GROUP BY query ORDER BY SUM(count) DESC, query LIMIT ?",
                (limit,),
            ).fetchall()
        con.close()
        # MIN over "none" < "weak": a query that ever found nothing is shown as "none".
        return [
            Gap(query=q, count=int(n), match=m, areas=json.loads(a), last_day=d) for q, n, m, d, a in rows
        ]


def query_log_path(index_dir: Path) -> Path:
    return index_dir / "query-log.sqlite3"
