"""The API's published contract, checked against the live app over real HTTP.

schemathesis reads /openapi.json and sends each operation requests made from it, valid ones and
deliberately invalid ones, and every check it has judges the answers: no 5xx, only documented
status codes and content types, bodies that match the response schemas, valid data accepted and
invalid data refused. The schema is the one the app serves, so a limit or an enum that the app
enforces but does not publish (or publishes but does not enforce) fails here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from conftest import MKDOCS, FakeEmbedder, tiny_tree, uvicorn_on_a_thread
from hypothesis import settings

from kb.errors import InvalidQuery
from kb.search import MAX_DEPTH, MAX_K, MAX_QUERY_CHARS, Query, validate_query
from kb.workflow import update_index
from search_service.main import create_app
from search_service.process import free_port
from search_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in real uvicorn on a thread, over a tiny index built with the fake embedder."""
    root = tmp_path_factory.mktemp("contract")
    settings_ = ServiceSettings(
        docs_dir=tiny_tree(root / "docs"),
        index_dir=root / "index",
        site_dir=root / "site",
        mkdocs_config=MKDOCS,
        model="fake-embedder",
        reload_interval=0.5,
    )
    embedder = FakeEmbedder()
    update_index(settings_, embedder=embedder)
    settings_.site_dir.mkdir()
    (settings_.site_dir / "index.html").write_text("<h1>the site</h1>")
    config = uvicorn.Config(
        create_app(settings_, embedder=embedder), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    with uvicorn_on_a_thread(config) as url:
        yield url


def filter_case(context, case) -> bool:
    """Keep every generated request except the schema-valid ones that break one of the two rules
    a JSON Schema cannot state, both published in the fields' descriptions and refused with a
    documented 422: q must hold a word (not only spaces or control characters), and offset + k
    may not pass the paging depth. Only these two: any other refusal of valid data still fails."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    if case.operation.path != "/api/search":
        return True
    fields = case.query if case.method == "GET" else case.body
    if not isinstance(fields, dict):
        return True
    return not (_blank(fields.get("q")) or _too_deep(fields.get("k", 10), fields.get("offset", 0)))


def _blank(q: object) -> bool:
    """kb's own judgement of an empty query, asked with nothing else in the query to refuse."""
    if not isinstance(q, str):
        return False
    try:
        validate_query(Query(q=q), facets=())
    except InvalidQuery as exc:
        return "must not be empty" in str(exc)
    return False


def _too_deep(k: object, offset: object) -> bool:
    with contextlib.suppress(TypeError, ValueError):
        return int(offset) + int(k) > MAX_DEPTH  # type: ignore[call-overload]
    return False


# The schema as the app publishes it: the routes and models alone make it (no index is needed),
# so it is read at collection, when schemathesis makes one test per operation from it;
# test_the_live_app_serves_this_schema pins it to what the running server answers.
PUBLISHED = create_app(ServiceSettings(query_log=False)).openapi()
schema = schemathesis.openapi.from_dict(PUBLISHED)
schema.hook(filter_case)


def test_the_live_app_serves_this_schema(live_url: str) -> None:
    assert httpx.get(f"{live_url}/openapi.json").json() == PUBLISHED
    assert set(PUBLISHED["paths"]) == {
        "/api/search",
        "/api/areas",
        "/api/docs/{doc_id}/related",
        "/healthz",
        "/readyz",
    }


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None)
def test_the_api_keeps_its_published_contract(case, live_url: str) -> None:
    case.call_and_validate(base_url=live_url)


def test_the_schema_carries_the_real_limits_and_enums() -> None:
    get = {p["name"]: p["schema"] for p in PUBLISHED["paths"]["/api/search"]["get"]["parameters"]}
    ref = PUBLISHED["paths"]["/api/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = PUBLISHED["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]["properties"]
    for fields in (get, body):
        assert (fields["q"]["minLength"], fields["q"]["maxLength"]) == (1, MAX_QUERY_CHARS)
        assert (fields["k"]["minimum"], fields["k"]["maximum"]) == (1, MAX_K)
        assert (fields["offset"]["minimum"], fields["offset"]["maximum"]) == (0, MAX_DEPTH - 1)
        assert f"offset + k at most {MAX_DEPTH}" in fields["offset"]["description"]
        assert fields["area"]["items"]["enum"][:2] == ["federal-partnerships", "crime-analysis"]
    related = {
        p["name"]: p["schema"] for p in PUBLISHED["paths"]["/api/docs/{doc_id}/related"]["get"]["parameters"]
    }
    assert (related["k"]["minimum"], related["k"]["maximum"]) == (1, MAX_K)
    assert "practice-brief" in related["type"]["items"]["enum"]
    documented = PUBLISHED["paths"]["/api/search"]["post"]["responses"]
    assert set(documented) == {"200", "400", "413", "415", "422", "503"}


@pytest.mark.parametrize(
    ("request_args", "status", "message"),
    [
        # bytes that are not UTF-8, and a charset JSON may not have
        (
            {"content": b'{"q": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
            400,
            "UTF-8 JSON",
        ),
        (
            {
                "content": b'{"q": "caf\xe9"}',
                "headers": {"content-type": "application/json; charset=latin-1"},
            },
            400,
            "UTF-8 JSON",
        ),
        (
            {"content": b'{"q": "x"}', "headers": {"content-type": "text/plain"}},
            415,
            "Content-Type: application/json",
        ),
        ({"content": b'{"q": "x"}'}, 415, "Content-Type: application/json"),
        ({"data": {"q": "x"}}, 415, "Content-Type: application/json"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "not valid JSON"),
        ({"content": b"", "headers": {"content-type": "application/json"}}, 422, "must be a JSON object"),
        ({"json": ["q", "x"]}, 422, "must be a JSON object"),
        # JSON has types: a string or a boolean where a number belongs is refused, not guessed at
        ({"json": {"q": "x", "k": "5"}}, 422, 'k: must be an integer, got "5"'),
        ({"json": {"q": "x", "k": True}}, 422, "k: must be an integer, got true"),
        ({"json": {"q": "x", "offset": "0"}}, 422, 'offset: must be an integer, got "0"'),
        ({"json": {"q": "x", "group": "false"}}, 422, 'group: must be true or false, got "false"'),
        ({"json": {"q": "x", "group": 0}}, 422, "group: must be true or false, got 0"),
        ({"json": {"q": 5}}, 422, "q: must be a string, got 5"),
        ({"json": {"q": "x", "area": "gun-violence"}}, 422, 'area: must be an array, got "gun-violence"'),
        ({"json": {"q": "x", "k": 51}}, 422, "k must be between 1 and 50, got 51"),
        ({"json": {"q": "x", "offset": 100}}, 422, "offset must be between 0 and 99, got 100"),
        ({"json": {"q": "x" * 501}}, 422, "q is 501 characters; at most 500 are allowed"),
        ({"json": {"q": "a" + " " * 600 + "b"}}, 422, "q is 602 characters; at most 500 are allowed"),
    ],
)
def test_every_refusal_is_a_documented_4xx_that_says_what_to_send(live_url, request_args, status, message):
    r = httpx.post(f"{live_url}/api/search", **request_args)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["detail"]
    assert str(status) in PUBLISHED["paths"]["/api/search"]["post"]["responses"]


def test_the_query_string_still_reads_numbers_and_booleans_from_text(live_url: str) -> None:
    r = httpx.get(
        f"{live_url}/api/search", params={"q": "violence", "k": "2", "group": "false", "offset": "1"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["offset"] == 1 and len(r.json()["results"]) <= 2
    # and JSON's own numbers, 5.0 included (JSON Schema counts it as an integer)
    assert httpx.post(f"{live_url}/api/search", json={"q": "violence", "k": 5.0}).status_code == 200
    r = httpx.get(f"{live_url}/api/docs/briefs/gvi/related", params={"k": "0"})
    assert r.status_code == 422 and r.json()["detail"] == "k must be between 1 and 50, got 0"


def test_swagger_ui_is_served_from_installed_files_not_a_cdn(live_url: str) -> None:
    page = httpx.get(f"{live_url}/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.search(r"https?:|[\"']//", page.text), "the page names another host"
    assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert sorted(assets) == [
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for path in assets:
        r = httpx.get(f"{live_url}{path}")
        assert r.status_code == 200 and len(r.content) > 1000, path
    assert "javascript" in httpx.get(f"{live_url}/docs/assets/swagger-ui-bundle.js").headers["content-type"]
    # the page's own script fetches the schema from this server
    assert "url: '/openapi.json'" in page.text


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_in_chromium_without_leaving_the_server(
    live_url: str, browser
) -> None:
    """The page as a person opens it, under the server's own security headers: the installed
    Swagger UI reads the 3.1 schema, lists every operation, and asks no other host for anything."""
    context = browser.new_context()
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        elsewhere: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(live_url) else elsewhere.append(r.url))
        page.goto(f"{live_url}/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() == 6
        assert problems == [] and elsewhere == []
    finally:
        context.close()
