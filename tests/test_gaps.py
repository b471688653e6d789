"""`kb gaps`: searches that found no good match are counted for editors, with no personal data,
pruned after 90 days, and not kept at all with KB_QUERY_LOG=off."""

from __future__ import annotations

import datetime as dt
import sqlite3

from conftest import wait_ready
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kb.cli import app as cli
from kb.gaps import QueryLog, normalize, query_log_path
from kb.workflow import update_index
from search_service.main import create_app

DAY = dt.date(2026, 6, 1)


def test_queries_are_normalized_and_counted_per_day(tmp_path):
    log = QueryLog(tmp_path / "log.sqlite3")
    log.record("  Flurble   ZAPQUIX? ", "none", [], today=DAY)
    log.record("flurble zapquix", "none", [], today=DAY)
    log.record("flurble zapquix", "none", [], today=DAY + dt.timedelta(days=1))
    log.record("cameras in parks", "weak", ["technology"], today=DAY)
    log.record("gun violence strategies", "good", ["gun-violence"], today=DAY)  # not a gap
    gaps = log.top(today=DAY + dt.timedelta(days=1))
    assert [(g.query, g.count, g.match) for g in gaps] == [
        ("flurble zapquix", 3, "none"),
        ("cameras in parks", 1, "weak"),
    ]
    assert gaps[1].areas == ["technology"]
    assert normalize("Tax\tFiling\u00a0Deadline!!") == "tax filing deadline"


def test_the_store_keeps_no_personal_data_and_no_time_finer_than_a_day(tmp_path):
    log = QueryLog(tmp_path / "log.sqlite3")
    log.record("flurble zapquix", "none", [], today=DAY)
    con = sqlite3.connect(tmp_path / "log.sqlite3")
    columns = [row[1] for row in con.execute("PRAGMA table_info(gaps)")]
    assert columns == ["query", "day", "match", "areas", "count"]
    assert con.execute("SELECT day FROM gaps").fetchone() == ("2026-06-01",)


def test_rows_older_than_90_days_are_pruned(tmp_path):
    log = QueryLog(tmp_path / "log.sqlite3")
    log.record("old question", "none", [], today=DAY)
    log.record("new question", "none", [], today=DAY + dt.timedelta(days=80))
    later = DAY + dt.timedelta(days=91)
    assert [g.query for g in log.top(today=later)] == ["new question"]


def test_the_api_records_gaps_and_kb_gaps_lists_them(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as client:
        wait_ready(client)
        for _ in range(2):
            assert client.get("/api/search", params={"q": "zebra quantum"}).json()["match"] == "none"
        client.get("/api/search", params={"q": "witnesses afraid to testify"})
    out = CliRunner().invoke(cli, ["gaps", "--index", str(tiny_settings.index_dir), "--json"])
    assert out.exit_code == 0, out.output
    assert '"query": "zebra quantum"' in out.output and '"count": 2' in out.output
    assert "witnesses" not in out.output  # a good match is not a gap


def test_recording_can_be_switched_off(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    off = tiny_settings.model_copy(update={"query_log": False})
    with TestClient(create_app(off, embedder=fake_embedder)) as client:
        wait_ready(client)
        assert client.get("/api/search", params={"q": "zebra quantum"}).json()["match"] == "none"
    assert not query_log_path(tiny_settings.index_dir).exists()
    out = CliRunner().invoke(
        cli, ["gaps", "--index", str(tiny_settings.index_dir)], env={"KB_QUERY_LOG": "off"}
    )
    assert "recording is off" in out.output
