"""The service after a failure: background loops that outlive any exception, /readyz that says
what is wrong ("degraded") while an older good version serves, and a start on a bad version
that falls back to the newest good one."""

from __future__ import annotations

import time

import pytest
from conftest import FakeEmbedder, wait_ready
from fastapi.testclient import TestClient

import search_service.live_index as live_index
from kb.index import current_version
from kb.workflow import update_index
from search_service.main import create_app


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _edit(settings, words: str) -> None:
    path = settings.docs_dir / "briefs" / "cameras.md"
    path.write_text(path.read_text().replace("Start small.", f"Start small. {words}."))


@pytest.mark.parametrize(
    "failure",
    [
        IndexError("bm25 row out of range"),
        KeyError("chunk_count"),
        OSError(28, "No space left on device"),
        RuntimeError("faiss: read error"),
    ],
)
def test_any_failure_loading_a_version_is_reported_and_the_next_good_one_picked_up(
    tiny_settings, fake_embedder, monkeypatch, failure
):
    update_index(tiny_settings, embedder=fake_embedder)
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        good = wait_ready(c)["index_version"]
        real_open = live_index.open_index
        broken: set[str] = set()

        def open_index(index_dir, embedder=None, version=None):
            if version in broken:
                raise failure
            return real_open(index_dir, embedder, version=version)

        monkeypatch.setattr(live_index, "open_index", open_index)
        _edit(tiny_settings, "Quokka registries")
        update_index(tiny_settings, embedder=fake_embedder)
        bad = current_version(tiny_settings.index_dir)
        broken.add(bad)
        _until(lambda: c.get("/readyz").json()["status"] == "degraded")
        ready = c.get("/readyz").json()
        assert c.get("/readyz").status_code == 200 and ready["index_version"] == good
        assert type(failure).__name__ in ready["detail"] and bad in ready["detail"]
        assert c.get("/api/search", params={"q": "cameras"}).status_code == 200
        # the loop is still alive: the next good version is served, and the detail clears
        _edit(tiny_settings, "Marimba registries")
        update_index(tiny_settings, embedder=fake_embedder)
        fixed = current_version(tiny_settings.index_dir)
        _until(lambda: c.get("/readyz").json()["index_version"] == fixed)
        assert c.get("/readyz").json()["status"] == "ready"


def test_a_server_started_on_a_bad_version_serves_the_newest_good_one(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    older = current_version(tiny_settings.index_dir)
    _edit(tiny_settings, "Quokka registries")
    update_index(tiny_settings, embedder=fake_embedder)
    newest = current_version(tiny_settings.index_dir)
    chunks = tiny_settings.index_dir / "versions" / newest / "chunks.jsonl"
    chunks.write_text(chunks.read_text()[:100])  # truncated: its checksum no longer matches
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        ready = wait_ready(c)
        assert ready["status"] == "degraded" and ready["index_version"] == older
        assert newest in ready["detail"] and f"serving the older version {older}" in ready["detail"]
        assert str(tiny_settings.index_dir) not in ready["detail"]  # no paths on the server's disk
        assert c.get("/api/search", params={"q": "cameras"}).status_code == 200
        # once CURRENT names a good version again, it is served
        _edit(tiny_settings, "Marimba registries")
        update_index(tiny_settings, embedder=fake_embedder, force=True)
        fixed = current_version(tiny_settings.index_dir)
        _until(lambda: c.get("/readyz").json()["index_version"] == fixed)
        assert c.get("/readyz").json()["status"] == "ready"


def test_the_docs_watcher_survives_a_failed_rebuild_and_retries_it(tiny_settings, fake_embedder, monkeypatch):
    import kb.workflow

    update_index(tiny_settings, embedder=fake_embedder)
    watching = tiny_settings.model_copy(update={"watch": True})
    real_update = kb.workflow.update_index
    calls = {"n": 0}

    def update_index_failing_once(settings, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return real_update(settings, **kwargs)

    monkeypatch.setattr(kb.workflow, "update_index", update_index_failing_once)
    with TestClient(create_app(watching, embedder=FakeEmbedder())) as c:
        old = wait_ready(c)["index_version"]
        _edit(tiny_settings, "Quokka registries")
        _until(lambda: "No space left" in (c.get("/readyz").json().get("detail") or ""), 30)
        assert c.get("/readyz").json()["status"] == "degraded"
        # retried without another edit: the same change lands once the disk has room
        _until(lambda: c.get("/readyz").json()["index_version"] != old, 30)
        hits = c.get("/api/search", params={"q": "quokka"}).json()["results"]
        assert hits and hits[0]["id"] == "briefs/cameras"


def test_http_edges_head_options_json_404_and_security_headers(client):
    for path in ("/healthz", "/readyz", "/api/search?q=violence", "/api/areas"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    options = client.options("/api/search")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert client.options("/healthz").headers["allow"] == "GET, HEAD, OPTIONS"
    wrong = client.delete("/api/search")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert "not allowed" in wrong.json()["detail"]
    missing = client.get("/api/nope")
    assert missing.status_code == 404 and "/api/search" in missing.json()["detail"]
    assert client.get("/nope").status_code == 404  # the site's own 404 page stays the site's
    for path in ("/", "/api/search?q=violence", "/api/nope"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
