"""What goes over the wire: compression, and caching that is long for fingerprinted assets and
revalidated for everything else (search_service/caching.py), through the real app."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from kb.workflow import update_index
from search_service.caching import IMMUTABLE, REVALIDATE, cache_control
from search_service.main import create_app

BUNDLE = "assets/javascripts/bundle.a5f9d56c.min.js"


def wait_ready(client: TestClient, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the index did not load"
        time.sleep(0.05)


@pytest.fixture
def client(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    site = tiny_settings.site_dir
    for rel, text in {
        "index.html": "<h1>the site</h1>" + "<p>text</p>" * 200,
        BUNDLE: "var x = 1;" * 200,
        "assets/kb.css": "a { color: red }" * 100,
        "robots.txt": "User-agent: *\n",
    }.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        wait_ready(c)
        yield c


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/assets/javascripts/bundle.a5f9d56c.min.js", IMMUTABLE),
        ("/assets/stylesheets/main.57a0d79d.min.css", IMMUTABLE),
        ("/assets/javascripts/workers/search.a7633da7.min.js", IMMUTABLE),
        ("/assets/kb.js", REVALIDATE),  # ours: not fingerprinted, so always revalidated
        ("/assets/javascripts/lunr/min/lunr.de.min.js", REVALIDATE),
        ("/", REVALIDATE),
        ("/briefs/focused-deterrence-gvi/", REVALIDATE),
        ("/api/search", REVALIDATE),
    ],
)
def test_cache_policy_by_path(path, policy):
    assert cache_control(path) == policy


def test_pages_are_compressed_and_revalidated(client):
    r = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert r.headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    assert etag.startswith('W/"')  # one tag for the gzip and the identity form
    again = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert "last-modified" in r.headers


def test_fingerprinted_assets_are_immutable_and_others_revalidate(client):
    bundle = client.get("/" + BUNDLE, headers={"Accept-Encoding": "gzip"})
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert bundle.headers["content-encoding"] == "gzip"
    css = client.get("/assets/kb.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["cache-control"] == "no-cache" and css.headers["content-encoding"] == "gzip"
    # tiny files are not worth compressing
    robots = client.get("/robots.txt", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in robots.headers


def test_api_answers_are_compressed_and_revalidated_by_etag(client):
    r = client.get(
        "/api/search", params={"q": "witnesses afraid to testify"}, headers={"Accept-Encoding": "gzip"}
    )
    assert r.status_code == 200 and r.json()["results"]
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "no-cache" and r.headers["etag"].startswith('W/"')
    areas = client.get("/api/areas")
    etag = areas.headers["etag"]
    unchanged = client.get("/api/areas", headers={"If-None-Match": f'"x", {etag}'})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag and unchanged.headers["cache-control"] == "no-cache"
    changed = client.get("/api/areas", headers={"If-None-Match": 'W/"stale"'})
    assert changed.status_code == 200 and changed.json() == areas.json()


def test_errors_are_not_given_an_etag(client):
    r = client.get("/api/search", params={"q": ""})
    assert r.status_code == 422
    assert "etag" not in r.headers and r.headers["cache-control"] == "no-cache"
