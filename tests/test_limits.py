"""Bounded cost per request (search_service/limits.py), over real HTTP through uvicorn started
with the same options as `kb serve`; and the CLI's one-line answers to a full disk, a read-only
or forbidden folder and a missing model, with nothing half-written left behind."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from conftest import MKDOCS, ROOT, FakeEmbedder, uvicorn_on_a_thread
from typer.testing import CliRunner

import kb.workflow
from kb.cli import app as cli
from kb.index import current_version
from kb.lexical import LexicalIndex
from kb.workflow import update_index
from search_service.limits import RequestLimits, server_options
from search_service.main import create_app
from search_service.process import free_port

LIMIT = 64 * 1024


class SlowEmbedder(FakeEmbedder):
    """Queries with "slowly" in them take a while to embed: a saturated server on demand."""

    def embed(self, texts, *, progress=False):
        if any("slowly" in t for t in texts):
            time.sleep(1.5)
        return super().embed(texts, progress=progress)


@contextlib.contextmanager
def serving(settings, embedder) -> Iterator[str]:
    """The app in real uvicorn, on a thread, with the options `kb serve` passes."""
    config = uvicorn.Config(
        create_app(settings, embedder=embedder),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        **server_options(settings),
    )
    with uvicorn_on_a_thread(config) as url:
        yield url


@pytest.fixture
def live(tiny_settings, fake_embedder) -> Iterator[str]:
    update_index(tiny_settings, embedder=fake_embedder)
    with serving(tiny_settings, fake_embedder) as url:
        yield url


def _still_serves(url: str) -> None:
    r = httpx.get(url + "/api/search", params={"q": "camera registries"}, timeout=10)
    assert r.status_code == 200 and r.json()["results"], r.text


def test_a_10_mb_query_is_refused_with_413_quickly_and_the_server_keeps_serving(live):
    body = json.dumps({"q": "x" * 10_000_000}).encode()
    started = time.perf_counter()
    r = httpx.post(live + "/api/search", content=body, headers={"Content-Type": "application/json"})
    took = time.perf_counter() - started
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json"
    assert f"over {LIMIT} bytes" in r.json()["detail"]
    # Refused on its Content-Length: no JSON parse, no validation of 10 MB of text.
    assert took < 5, took
    _still_serves(live)


def test_a_content_length_over_the_limit_is_answered_without_waiting_for_the_body(live):
    port = int(live.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        # Headers only: a server that read the body first would wait here until the timeout.
        s.sendall(
            b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert b"connection: close" in reply.lower()
    _still_serves(live)


def test_a_chunked_body_is_refused_once_past_the_limit_without_waiting_for_the_rest(live):
    port = int(live.rsplit(":", 1)[1])
    chunk = b"x" * 16384
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(
            b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(LIMIT // len(chunk) + 1):  # one chunk past the limit, and no last chunk:
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))  # a server reading on would wait
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    _still_serves(live)


def test_a_chunked_body_within_the_limit_reaches_the_search_whole(live):
    body = json.dumps({"q": "camera registries", "k": 2}).encode()
    r = httpx.post(
        live + "/api/search",
        content=iter([body[:10], body[10:]]),  # an iterator: sent chunked, without Content-Length
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["query"] == "camera registries" and len(r.json()["results"]) == 2


def test_oversized_headers_are_refused_by_the_server_and_by_the_app(live, tiny_settings, fake_embedder):
    big = {"X-Padding": "y" * 20_000}
    r = httpx.get(live + "/api/search", params={"q": "cameras"}, headers=big)
    assert 400 <= r.status_code < 500  # uvicorn's h11 refuses it before the app sees it
    _still_serves(live)
    # The app's own check, whichever HTTP implementation runs it (here: none, ASGI direct).
    from fastapi.testclient import TestClient

    small = tiny_settings.model_copy(update={"max_header_bytes": 2048})
    with TestClient(create_app(small, embedder=fake_embedder)) as c:
        r = c.get("/api/search", params={"q": "cameras"}, headers={"X-Padding": "y" * 3000})
        assert r.status_code == 431 and "over 2048 bytes" in r.json()["detail"]
        assert r.headers["x-content-type-options"] == "nosniff"  # refusals carry the edges' headers


def test_a_malformed_content_length_is_a_400():
    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("the app was called")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():  # pragma: no cover - must not be reached
        raise AssertionError("the body was read")

    import anyio

    limits = RequestLimits(app, max_body_bytes=LIMIT, max_header_bytes=16384, max_active=4)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/search",
        "raw_path": b"/api/search",
        "query_string": b"",
        "headers": [(b"content-length", b"-5")],
    }
    # In a thread of its own: the browser tests' Playwright keeps an event loop in the main one.
    runner = threading.Thread(target=anyio.run, args=(limits, scope, receive, send))
    runner.start()
    runner.join()
    assert sent[0]["status"] == 400
    assert b"whole number" in sent[1]["body"]


def test_a_saturated_api_answers_503_with_retry_after_instead_of_queueing(tiny_settings):
    settings = tiny_settings.model_copy(update={"threads": 1, "max_waiting": 1})
    slow = SlowEmbedder()
    update_index(settings, embedder=slow)
    with serving(settings, slow) as url:

        def ask(n: int) -> httpx.Response:
            return httpx.get(url + "/api/search", params={"q": f"slowly {n}"}, timeout=30)

        with ThreadPoolExecutor(5) as pool:
            replies = list(pool.map(ask, range(5)))
        ok = [r for r in replies if r.status_code == 200]
        busy = [r for r in replies if r.status_code == 503]
        # One worked on, one waiting: the rest are told to come back, not queued.
        assert len(ok) + len(busy) == 5 and 1 <= len(ok) <= 2, [r.status_code for r in replies]
        for r in busy:
            assert r.headers["retry-after"] == "1"
            assert "busy" in r.json()["detail"]
        # The probes are never refused, and the slots come back once the work is done.
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/api/search", params={"q": "cameras"}).status_code == 200


# ---- the command line ---------------------------------------------------------------------------

runner = CliRunner()


def _cli_env(tmp_path) -> dict[str, str]:
    return {"KB_MKDOCS_CONFIG": str(MKDOCS), "KB_MODEL_CACHE": str(tmp_path / "models")}


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the disk is full while writing {path}; free some space and run the command again"),
        (errno.EROFS, "{path} is on a read-only file system; point --docs"),
        (errno.EACCES, "no permission to use {path}; fix its permissions"),
    ],
)
def test_kb_index_failing_to_write_says_one_line_and_leaves_nothing_half_written(
    tmp_path, tiny_settings, monkeypatch, code, says
):
    monkeypatch.setattr(kb.workflow, "embedder_for", lambda *a, **kw: FakeEmbedder())
    args = ["index", "--docs", str(tiny_settings.docs_dir), "--index", str(tiny_settings.index_dir)]
    first = runner.invoke(cli, args, env=_cli_env(tmp_path))
    assert first.exit_code == 0, first.output
    served = current_version(tiny_settings.index_dir)
    failing = tiny_settings.index_dir / "versions" / "bm25"

    def save(self, folder):
        raise OSError(code, os.strerror(code), str(failing))

    monkeypatch.setattr(LexicalIndex, "save", save)
    r = runner.invoke(cli, [*args, "--force"], env=_cli_env(tmp_path))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [r.stderr.strip()]  # exactly one line
    assert r.stderr.startswith("error: " + says.format(path=failing)), r.stderr
    assert "Traceback" not in r.output
    versions = tiny_settings.index_dir / "versions"
    assert not [p.name for p in versions.iterdir() if p.name.endswith(".partial")]
    assert current_version(tiny_settings.index_dir) == served  # the good version still serves


def test_a_missing_or_broken_model_is_one_line_through_the_real_command(tmp_path, tiny_settings):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # a model folder without its weights or configs
    for model in (str(tmp_path / "no-such-model"), str(broken)):
        proc = subprocess.run(
            [sys.executable, "-m", "kb.cli", "index", "--docs", str(tiny_settings.docs_dir)],
            env={
                **os.environ,
                **_cli_env(tmp_path),
                "KB_MODEL": model,
                "KB_INDEX_DIR": str(tmp_path / "index"),
                "HF_HUB_OFFLINE": "1",
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert "KB_MODEL" in lines[0] and "Traceback" not in proc.stderr
        assert not (tmp_path / "index" / "versions").exists()
