"""The index artifact: self-describing, incremental, atomic, verified on open."""

from __future__ import annotations

import json

import pytest
from conftest import FakeEmbedder, brief_text

from kb.errors import ContentError, IndexCorrupt, IndexMismatch, IndexNotFound
from kb.index import current_version, open_index
from kb.workflow import update_index


def test_manifest_describes_the_index(tiny_settings, fake_embedder):
    report = update_index(tiny_settings, embedder=fake_embedder)
    version = current_version(tiny_settings.index_dir)
    folder = tiny_settings.index_dir / "versions" / version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 2
    assert manifest["model"] == {
        "name": "fake-embedder",
        "weights_sha256": "fake-weights-1",
        "backend": "fake",
        "dimension": 64,
        "normalized": True,
    }
    assert manifest["facets"] == [
        "area=core_areas",
        "type=type",
        "evidence=evidence.rating",
        "site=site_slugs",
        "component=components",
    ]
    assert manifest["text_template"] == "{title} > {section}\n{text}"
    assert manifest["chunk_count"] == report.chunks == len((folder / "chunks.jsonl").read_text().splitlines())
    assert set(manifest["documents"]) == {
        "briefs/other",
        "briefs/gvi",
        "briefs/witness",
        "briefs/cameras",
        "about/overview",
    }
    assert {p.name for p in folder.iterdir()} == {"manifest.json", "vectors.faiss", "chunks.jsonl", "bm25"}
    assert "created_at" in manifest


def test_unchanged_content_is_not_rebuilt(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    assert update_index(tiny_settings, embedder=fake_embedder) is None


def test_editing_one_brief_embeds_only_its_changed_chunks(tiny_settings):
    first = FakeEmbedder()
    full = update_index(tiny_settings, embedder=first)
    assert full.embedded == full.chunks and full.reused == 0

    path = tiny_settings.docs_dir / "briefs" / "witness.md"
    path.write_text(path.read_text().replace("Start small.", "Start with the ten oldest cases."))
    second = FakeEmbedder()
    again = update_index(tiny_settings, embedder=second)

    assert again.embedded == 1 == second.texts_embedded  # only the "Steps" section changed
    assert again.reused == again.chunks - 1
    data = open_index(tiny_settings.index_dir, second)
    steps = [c for c in data.chunks if c.doc_id == "briefs/witness" and c.anchor == "steps"]
    assert "ten oldest cases" in steps[0].text


class ExplodingEmbedder(FakeEmbedder):
    def embed(self, texts, *, progress=False):
        raise RuntimeError("killed midway")


def test_a_build_that_fails_midway_leaves_the_old_index_live(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    before = current_version(tiny_settings.index_dir)
    path = tiny_settings.docs_dir / "briefs" / "gvi.md"
    path.write_text(path.read_text().replace("Start small.", "Start big."))

    with pytest.raises(RuntimeError, match="killed midway"):
        update_index(tiny_settings, embedder=ExplodingEmbedder())

    assert current_version(tiny_settings.index_dir) == before
    data = open_index(tiny_settings.index_dir, fake_embedder)
    assert data.version == before
    leftovers = [p.name for p in (tiny_settings.index_dir / "versions").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_invalid_content_never_reaches_the_index(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    before = current_version(tiny_settings.index_dir)
    (tiny_settings.docs_dir / "briefs" / "broken.md").write_text(brief_text("Broken", ("no-such-area",)))
    with pytest.raises(ContentError, match="unknown core area 'no-such-area'"):
        update_index(tiny_settings, embedder=fake_embedder)
    assert current_version(tiny_settings.index_dir) == before


def test_an_index_built_with_another_model_is_refused(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)

    class OtherWeights(FakeEmbedder):
        fingerprint = "other-weights"

    with pytest.raises(IndexMismatch, match="embedded with model 'fake-embedder'.*rebuild"):
        open_index(tiny_settings.index_dir, OtherWeights())


def test_an_index_embedded_by_another_backend_is_not_queried_by_this_one(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)

    class OtherBackend(FakeEmbedder):
        backend = "onnx-int8"

    with pytest.raises(IndexMismatch, match=r"fake\), but .*onnx-int8\); rebuild"):
        open_index(tiny_settings.index_dir, OtherBackend())
    # and `kb index` sees it as stale: the next build re-embeds everything with the new backend
    other = OtherBackend()
    report = update_index(tiny_settings, embedder=other)
    assert report is not None and report.embedded == report.chunks


def test_missing_index_says_how_to_build_one(tmp_path, fake_embedder):
    with pytest.raises(IndexNotFound, match="kb index"):
        open_index(tmp_path / "nothing", fake_embedder)


@pytest.mark.parametrize("damage", ["truncate-chunks", "delete-faiss", "corrupt-manifest", "no-manifest"])
def test_a_corrupt_or_partial_index_is_refused(tiny_settings, fake_embedder, damage):
    update_index(tiny_settings, embedder=fake_embedder)
    folder = tiny_settings.index_dir / "versions" / current_version(tiny_settings.index_dir)
    if damage == "truncate-chunks":
        lines = (folder / "chunks.jsonl").read_text().splitlines()
        (folder / "chunks.jsonl").write_text("\n".join(lines[:2]) + "\n")
    elif damage == "delete-faiss":
        (folder / "vectors.faiss").unlink()
    elif damage == "corrupt-manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        (folder / "manifest.json").unlink()
    with pytest.raises(IndexCorrupt, match="rebuild"):
        open_index(tiny_settings.index_dir, fake_embedder)


def test_old_versions_are_pruned(tiny_settings, fake_embedder):
    for n in range(4):
        path = tiny_settings.docs_dir / "briefs" / "gvi.md"
        path.write_text(path.read_text() + f"\nEdit {n}.\n")
        update_index(tiny_settings, embedder=fake_embedder)
    versions = list((tiny_settings.index_dir / "versions").iterdir())
    assert len(versions) == 2  # the live one and its predecessor


def test_concurrent_builds_take_turns_and_leave_a_complete_index(tiny_settings):
    import threading

    from kb.index import build_index
    from kb.taxonomy import load_taxonomy
    from kb.validation import check_content

    docs, _ = check_content(tiny_settings.docs_dir, load_taxonomy(), tiny_settings.mkdocs_config)
    reports, errors = [], []

    def build():
        try:
            reports.append(
                build_index(
                    docs,
                    tiny_settings.docs_dir,
                    tiny_settings.index_dir,
                    FakeEmbedder(),
                    mkdocs_config=tiny_settings.mkdocs_config,
                )
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(reports) == 4
    # taking turns, every build after the first found the previous one's vectors
    assert sorted(r.embedded for r in reports) == [0, 0, 0, reports[0].chunks]
    data = open_index(tiny_settings.index_dir, FakeEmbedder())
    assert data.version == max(r.version for r in reports)
