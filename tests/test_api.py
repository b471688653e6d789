"""The HTTP API through FastAPI's TestClient, on a tiny index built with the fake embedder."""

from __future__ import annotations

import time

import pytest
from conftest import wait_ready
from fastapi.testclient import TestClient

from kb.index import current_version
from kb.workflow import update_index
from search_service.main import create_app
from search_service.settings import ServiceSettings


def test_search_response_shape(client):
    r = client.get("/api/search", params={"q": "witnesses afraid to testify", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "query",
        "took_ms",
        "total",
        "results",
        "facets",
        "query_areas",
        "match",
        "did_you_mean",
        "notice",
        "offset",
    }
    assert body["match"] in ("good", "weak") and body["offset"] == 0
    hit = body["results"][0]
    assert set(hit) == {
        "id",
        "title",
        "url",
        "section",
        "anchor",
        "snippet",
        "score",
        "core_areas",
        "type",
        "evidence",
        "summary",
    }
    assert hit["id"] == "briefs/witness" and hit["core_areas"] == ["investigations"]
    assert hit["url"] == "/briefs/witness/" + (f"#{hit['anchor']}" if hit["anchor"] else "")
    assert body["facets"]["core_areas"]["investigations"] >= 1


def test_no_match_and_spelling_travel_over_http(client):
    none = client.get("/api/search", params={"q": "zebra quantum"}).json()
    assert none["match"] == "none" and none["results"] == [] and none["total"] == 0
    assert "zebra quantum" in none["notice"]
    typo = client.post("/api/search", json={"q": "witnsesses afraid to testify"}).json()
    assert typo["did_you_mean"] == "witnesses afraid to testify"
    paged = client.get("/api/search", params={"q": "violence shootings", "k": 1, "offset": 1})
    assert paged.status_code == 200 and paged.json()["offset"] == 1
    too_deep = client.get("/api/search", params={"q": "violence", "k": 10, "offset": 95})
    assert too_deep.status_code == 422 and "offset + k at most 100" in too_deep.json()["detail"]


def test_get_and_post_agree(client):
    got = client.get(
        "/api/search",
        params=[("q", "violence"), ("area", "gun-violence"), ("area", "technology"), ("k", "5")],
    ).json()
    posted = client.post(
        "/api/search", json={"q": "violence", "area": ["gun-violence", "technology"], "k": 5}
    ).json()
    got.pop("took_ms"), posted.pop("took_ms")
    assert got == posted
    assert all({"gun-violence", "technology"} & set(h["core_areas"]) for h in got["results"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "q must not be empty"),
        ({"q": "   "}, "q must not be empty"),
        ({"q": "x" * 501}, "at most 500"),
        ({"q": "x", "k": 0}, "k must be between 1 and 50"),
        ({"q": "x", "k": 51}, "k must be between 1 and 50"),
        ({"q": "x", "k": "ten"}, "k: Input should be a valid integer"),
        ({"q": "x", "area": "guns"}, "unknown area 'guns'; allowed: federal-partnerships"),
        ({"q": "x", "type": "memo"}, "unknown type 'memo'; allowed: practice-brief"),
        ({"q": "x", "evidence": "proven"}, "unknown evidence 'proven'; allowed: effective"),
        ({"q": "x", "site": "gotham"}, "unknown site 'gotham'; allowed: compton-ca"),
        ({"q": "x", "component": "nsa"}, "unknown component 'nsa'; allowed: ojp"),
        ({}, "q: Field required"),
    ],
)
def test_bad_input_is_a_422_that_says_what_is_allowed(client, params, message):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    assert message in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"q": ""},
        {"q": "x", "k": 99},
        {"q": "x", "area": ["guns"]},
        {"k": 3},
        {"q": ["list"]},
    ],
)
def test_bad_json_bodies_are_422(client, body):
    r = client.post("/api/search", json=body)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def test_misspelt_json_fields_are_named(client):
    r = client.post("/api/search", json={"q": "x", "areas": ["gun-violence"]})
    assert r.status_code == 422 and "areas: Extra inputs are not permitted" in r.json()["detail"]


def test_malformed_json_is_422(client):
    r = client.post("/api/search", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


HOSTILE = [
    "x" * 500,
    "y" * 10_000,
    "中文 查询 枪支暴力",
    "العنف المسلح",
    "🔫💥" * 20,
    "\x00\x01\x02 nul bytes",
    "line\nbreaks\r\nand\ttabs",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "' OR 1=1; DROP TABLE briefs; --",
    '" ; rm -rf / ;',
    "%00%0a%0d",
    "../../../../etc/passwd",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "a" + " " * 600 + "b",
    "\u202e\u200b\ufeff",
    "AND OR NOT ( ) [ ] * ? ~ ^",
    "q=1&k=999",
    "\\",
    "*" * 300,
]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_cause_a_5xx(client, q):
    for r in (client.get("/api/search", params={"q": q}), client.post("/api/search", json={"q": q, "k": 5})):
        assert r.status_code in (200, 422), r.text
        assert "Traceback" not in r.text
        if r.status_code == 200:
            for hit in r.json()["results"]:
                plain = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
                assert "<" not in plain and ">" not in plain


def test_areas_lists_the_taxonomy_with_counts(client):
    areas = client.get("/api/areas").json()
    assert [a["slug"] for a in areas] == [
        "federal-partnerships",
        "crime-analysis",
        "technology",
        "gun-violence",
        "criminal-justice-collaboration",
        "community-engagement",
        "investigations",
        "constitutional-policing",
    ]
    counts = {a["slug"]: a["count"] for a in areas}
    assert counts["gun-violence"] == 2 and counts["investigations"] == 1
    assert all(a["name"] and a["description"] for a in areas)


def test_related(client):
    r = client.get("/api/docs/briefs/gvi/related", params={"k": 2})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 2 and all(x["id"] != "briefs/gvi" for x in results)
    assert client.get("/api/docs/briefs/nope/related").status_code == 404
    assert "no document with id 'briefs/nope'" in client.get("/api/docs/briefs/nope/related").json()["detail"]
    assert client.get("/api/docs/briefs/gvi/related", params={"k": 0}).status_code == 422
    assert client.get("/api/docs/briefs/gvi/related", params={"type": "memo"}).status_code == 422


def test_health_readiness_docs_and_site(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"] == "fake-embedder"
    assert ready["chunks"] > 0 and ready["documents"] == 5
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/api/search"]
    assert "the site" in client.get("/").text


def test_readyz_is_503_until_an_index_exists_then_picks_it_up(tiny_settings, fake_embedder):
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "loading"
        assert "no index" in r.json()["detail"]
        assert c.get("/api/search", params={"q": "x"}).status_code == 503
        assert c.get("/healthz").status_code == 200
        update_index(tiny_settings, embedder=fake_embedder)
        assert wait_ready(c)["index_version"] == current_version(tiny_settings.index_dir)


def test_a_new_index_is_served_without_a_restart(client, tiny_settings, fake_embedder):
    old = client.get("/readyz").json()["index_version"]
    path = tiny_settings.docs_dir / "briefs" / "cameras.md"
    path.write_text(path.read_text().replace("Start small.", "Register xylophone cameras."))
    update_index(tiny_settings, embedder=fake_embedder)
    deadline = time.monotonic() + 10
    while client.get("/readyz").json()["index_version"] == old:
        assert time.monotonic() < deadline, "new index not picked up"
        time.sleep(0.05)
    hits = client.get("/api/search", params={"q": "xylophone", "k": 1}).json()["results"]
    assert hits[0]["id"] == "briefs/cameras" and "<mark>xylophone</mark>" in hits[0]["snippet"]


def test_a_half_built_index_is_never_served(client, tiny_settings):
    live = client.get("/readyz").json()["index_version"]
    versions = tiny_settings.index_dir / "versions"
    # a build killed before it finished: a folder without a manifest, and CURRENT untouched
    (versions / ".99990101T000000Z.partial").mkdir()
    (versions / ".99990101T000000Z.partial" / "chunks.jsonl").write_text("{}")
    time.sleep(0.5)
    assert client.get("/readyz").json()["index_version"] == live
    # CURRENT naming a broken version: the service keeps the good one and says why
    broken = versions / "99990101T000000Z"
    broken.mkdir()
    (tiny_settings.index_dir / "CURRENT").write_text("99990101T000000Z\n")
    deadline = time.monotonic() + 5
    while not client.get("/readyz").json().get("detail"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ready = client.get("/readyz").json()
    assert ready["index_version"] == live and "no manifest.json" in ready["detail"]
    assert client.get("/api/search", params={"q": "violence"}).status_code == 200


def test_cors_is_same_origin_by_default_and_configurable(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    headers = {"Origin": "https://example.org"}
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        wait_ready(c)
        r = c.get("/api/search", params={"q": "x"}, headers=headers)
        assert "access-control-allow-origin" not in r.headers
    allowed = ServiceSettings(**{**tiny_settings.model_dump(), "cors_origins": ["https://example.org"]})
    with TestClient(create_app(allowed, embedder=fake_embedder)) as c:
        wait_ready(c)
        r = c.get("/api/search", params={"q": "x"}, headers=headers)
        assert r.headers["access-control-allow-origin"] == "https://example.org"


def test_kb_serve_rebuilds_an_edited_brief_and_keeps_serving_on_bad_edits(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    watching = ServiceSettings(**{**tiny_settings.model_dump(), "watch": True})
    with TestClient(create_app(watching, embedder=fake_embedder)) as c:
        old = wait_ready(c)["index_version"]
        path = tiny_settings.docs_dir / "briefs" / "witness.md"
        good = path.read_text().replace("Start small.", "Start with marimba interviews.")
        path.write_text(good)
        deadline = time.monotonic() + 30
        while c.get("/readyz").json()["index_version"] == old:
            assert time.monotonic() < deadline, "the edit was not indexed"
            time.sleep(0.05)
        hit = c.get("/api/search", params={"q": "marimba"}).json()["results"][0]
        assert hit["id"] == "briefs/witness"
        # the site was rebuilt too, with the edited brief on it
        deadline = time.monotonic() + 30
        page = tiny_settings.site_dir / "briefs" / "witness" / "index.html"
        while not (page.exists() and "marimba" in page.read_text()):
            assert time.monotonic() < deadline, "the site was not rebuilt"
            time.sleep(0.1)

        current = c.get("/readyz").json()["index_version"]
        path.write_text(good.replace("  - investigations", "  - nonsense-area"))
        deadline = time.monotonic() + 30
        while "nonsense-area" not in (c.get("/readyz").json().get("detail") or ""):
            assert time.monotonic() < deadline, "the bad edit was not reported"
            time.sleep(0.05)
        ready = c.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["index_version"] == current
        assert c.get("/api/search", params={"q": "marimba"}).status_code == 200
