"""The engine's filter schema and its work in proportion to the answer (fast tier: the fake
embedder and tiny trees; the real-index checks are in test_real_search.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import MKDOCS, ROOT, tiny_tree, wait_ready
from fastapi.testclient import TestClient

import kb.search as search_module
from kb.facets import facet_schema
from kb.scale import replicate, scale_bench
from kb.search import Query
from kb.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from kb.workflow import open_searcher, update_index
from search_service.main import create_app
from search_service.settings import ServiceSettings


@pytest.fixture
def searcher(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    return open_searcher(tiny_settings, embedder=fake_embedder)


AUDIENCE = {
    "param": "audience",
    "field": "audience",
    "vocabulary": "roles",
    "label": "Written for",
    "facet": True,
    "control": "select",
}


def _taxonomy_with_audience_filter(tmp_path: Path) -> Path:
    """The real taxonomy plus one filter entry: the only change adding a filter takes."""
    raw = yaml.safe_load(DEFAULT_TAXONOMY.read_text(encoding="utf-8"))
    raw["extra"]["taxonomy"]["filters"].append(AUDIENCE)
    path = tmp_path / "taxonomy.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_adding_a_filter_is_one_taxonomy_entry_end_to_end(tmp_path, fake_embedder):
    taxonomy = _taxonomy_with_audience_filter(tmp_path)
    docs = tiny_tree(tmp_path / "docs")
    gvi = docs / "briefs/gvi.md"
    gvi.write_text(gvi.read_text().replace("updated:", "audience: [prosecutor]\nupdated:", 1))
    settings = ServiceSettings(
        docs_dir=docs,
        index_dir=tmp_path / "index",
        site_dir=tmp_path / "site",
        mkdocs_config=MKDOCS,
        taxonomy=taxonomy,
        model="fake-embedder",
    )
    update_index(settings, embedder=fake_embedder)

    # the engine: validation, the mask and the facet counts
    searcher = open_searcher(settings, embedder=fake_embedder)
    result = searcher.search(Query(q="violence shootings call-ins", filters={"audience": ("prosecutor",)}))
    assert [h.id for h in result.results] == ["briefs/gvi"]
    assert result.facets["audience"] == {"prosecutor": 1}
    with pytest.raises(search_module.InvalidQuery, match="unknown audience 'judge'; allowed: "):
        searcher.search(Query(q="x", filters={"audience": ("judge",)}))

    # the API: GET and POST take it, and the OpenAPI schema lists its values
    settings.site_dir.mkdir()
    with TestClient(create_app(settings, embedder=fake_embedder)) as client:
        wait_ready(client)
        got = client.get("/api/search", params={"q": "call-ins", "audience": "prosecutor"})
        posted = client.post("/api/search", json={"q": "call-ins", "audience": ["prosecutor"]})
        assert got.status_code == posted.status_code == 200, got.text
        assert [h["id"] for h in got.json()["results"]] == ["briefs/gvi"]
        assert got.json()["results"] == posted.json()["results"]
        refused = client.get("/api/search", params={"q": "x", "audience": "judge"})
        assert refused.status_code == 422 and "allowed" in refused.json()["detail"]
        schema = client.get("/openapi.json").json()
        params = {p["name"]: p for p in schema["paths"]["/api/search"]["get"]["parameters"]}
        assert "prosecutor" in params["audience"]["schema"]["items"]["enum"]


def test_get_and_post_share_one_request_model(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    tiny_settings.site_dir.mkdir()
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as client:
        schema = client.get("/openapi.json").json()
    get = {p["name"] for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    body = schema["paths"]["/api/search"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    post = set(schema["components"]["schemas"][ref]["properties"])
    assert get == post == {"q", "k", "group", "offset", *(f.param for f in facet_schema(load_taxonomy()))}


def test_a_large_corpus_is_searched_through_an_inverted_file_index(searcher, monkeypatch):
    import faiss

    monkeypatch.setattr(search_module, "EXACT_UP_TO", 100)
    grown = replicate(searcher.data, 2_000)
    assert len(grown.chunks) == 2_000 and grown.vectors.shape == (2_000, 64)
    big = search_module.Searcher(grown, searcher.embedder, searcher.taxonomy)
    assert isinstance(big._dense_index, faiss.IndexIVF)
    result = big.search(Query(q="witnesses afraid to testify", filters={"area": ("investigations",)}))
    assert result.results and all("investigations" in h.core_areas for h in result.results)
    assert result.results[0].id.startswith("briefs/witness")


def test_scale_bench_reports_each_size_plain_and_filtered(searcher):
    rows = scale_bench(
        searcher.data,
        searcher.embedder,
        searcher.taxonomy,
        ["violence", "cameras"],
        sizes=(50, 200),
        rounds=1,
    )
    assert [r["chunks"] for r in rows] == [50, 200]
    for r in rows:
        for kind in ("plain", "filtered"):
            spread = r[kind]["p50_ms"]
            assert spread["min"] <= spread["median"] <= spread["max"]


def test_filter_masks_are_precomputed_matrices(searcher):
    areas = searcher._values["area"]
    assert areas.dtype == bool and areas.shape == (len(searcher.doc_ids), 8)
    gvi = searcher.doc_ids.index("briefs/gvi")
    assert set(np.array(searcher.taxonomy.area_slugs)[areas[gvi]]) == {
        "gun-violence",
        "criminal-justice-collaboration",
    }


def test_the_engine_package_never_imports_the_service():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "kb").rglob("*.py")
        if re.search(r"^\s*(from|import) search_service", p.read_text(), re.M)
    ]
    assert offenders == []
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kb.cli, kb.workflow, kb.search, kb.scale; "
            "print(sorted(m for m in sys.modules if m.startswith('search_service')))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_service_commands_plug_into_kb_through_entry_points():
    from importlib.metadata import entry_points

    verbs = {ep.name: ep.value for ep in entry_points(group="kb.service")}
    assert verbs == {"serve": "search_service.commands:serve", "bench": "search_service.commands:bench"}
