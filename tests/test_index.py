"""The index artifact: self-describing, incremental, atomic, verified on open."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from conftest import FakeEmbedder, brief_text
from typer.testing import CliRunner

from kb.cli import app
from kb.errors import ContentError, IndexCorrupt, IndexMismatch, IndexNotFound
from kb.index import current_version, open_index
from kb.search import Query, Searcher
from kb.taxonomy import load_taxonomy
from kb.workflow import update_index


def test_manifest_describes_the_index(tiny_settings, fake_embedder):
    report = update_index(tiny_settings, embedder=fake_embedder)
    version = current_version(tiny_settings.index_dir)
    folder = tiny_settings.index_dir / "versions" / version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 3
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
    # every other file of the folder, bm25/ included, with its size and checksum
    on_disk = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == set(on_disk) - {"manifest.json"}
    assert "bm25/vocab.index.json" in manifest["files"]
    for name, want in manifest["files"].items():
        assert want == {
            "size": on_disk[name].stat().st_size,
            "sha256": hashlib.sha256(on_disk[name].read_bytes()).hexdigest(),
        }


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


def _edit_witness(settings, words: str = "Start with the ten oldest cases.") -> None:
    path = settings.docs_dir / "briefs" / "witness.md"
    path.write_text(path.read_text().replace("Start small.", words))


def test_old_versions_beyond_the_last_three_and_stale_partials_are_pruned(tiny_settings, fake_embedder):
    index_dir = tiny_settings.index_dir
    built = []
    gvi = tiny_settings.docs_dir / "briefs" / "gvi.md"
    for n in range(5):
        gvi.write_text(gvi.read_text() + f"\nEdit {n}.\n")
        built.append(update_index(tiny_settings, embedder=fake_embedder).version)
    assert sorted(p.name for p in (index_dir / "versions").iterdir()) == built[-3:]
    # leftovers of builds that were killed: a version folder never renamed, a CURRENT never swapped
    partial = index_dir / "versions" / ".20200101T000000000000Z.partial"
    (partial / "bm25").mkdir(parents=True)
    (partial / "chunks.jsonl").write_text("{}")
    (index_dir / ".CURRENT.4242").write_text("20200101T000000000000Z\n")
    gvi.write_text(gvi.read_text() + "\nEdit 5.\n")
    newest = update_index(tiny_settings, embedder=fake_embedder).version
    assert not partial.exists() and not (index_dir / ".CURRENT.4242").exists()
    assert sorted(p.name for p in (index_dir / "versions").iterdir()) == [*built[-2:], newest]
    assert current_version(index_dir) == newest


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    path.write_bytes(bytes(data))


def _truncate_chunks(folder: Path) -> None:
    lines = (folder / "chunks.jsonl").read_text().splitlines()
    (folder / "chunks.jsonl").write_text("\n".join(lines[:2]) + "\n")


def _drop_manifest_key(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["chunk_count"]
    (folder / "manifest.json").write_text(json.dumps(manifest))


# Each damage, what `kb index` then reports, and how many chunks it must embed again. The live
# version holds one edited section that its predecessor lacks: when the live vectors cannot be
# trusted (their file, or the chunks that say which text each row is, or the manifest that
# vouches for both), only that section is embedded again, with the predecessor's vectors; when
# they still check out (damage elsewhere), nothing is.
DAMAGE = {
    "truncated chunks.jsonl": (_truncate_chunks, r"damaged chunks\.jsonl \(\d+ bytes, the manifest says", 1),
    "flipped bytes in vectors.faiss": (
        lambda f: _flip_a_byte(f / "vectors.faiss"),
        r"damaged vectors\.faiss \(its sha256",
        1,
    ),
    "deleted bm25 file": (
        lambda f: (f / "bm25" / "vocab.index.json").unlink(),
        "missing bm25/vocab.index.json",
        0,
    ),
    "flipped bytes in a bm25 file": (
        lambda f: _flip_a_byte(f / "bm25" / "data.csc.index.npy"),
        r"damaged bm25/data\.csc\.index\.npy",
        0,
    ),
    "manifest missing a key": (
        _drop_manifest_key,
        r"invalid manifest\.json \(chunk_count: Field required",
        0,
    ),
    "manifest not JSON": (
        lambda f: (f / "manifest.json").write_text("{not json"),
        "invalid manifest.json",
        1,
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_kb_index_repairs_a_damaged_live_version_reusing_the_vectors_it_can_trust(tiny_settings, damage):
    corrupt, said, embedded = DAMAGE[damage]
    update_index(tiny_settings, embedder=FakeEmbedder())
    _edit_witness(tiny_settings)
    damaged = update_index(tiny_settings, embedder=FakeEmbedder()).version
    corrupt(tiny_settings.index_dir / "versions" / damaged)
    with pytest.raises(IndexCorrupt, match=f"index version {damaged} .*{said}.*; rebuild it with 'kb index'"):
        open_index(tiny_settings.index_dir, FakeEmbedder())

    embedder = FakeEmbedder()
    report = update_index(tiny_settings, embedder=embedder)  # no --force: damage is not "up to date"

    assert report is not None and re.match(f"version {damaged} .*{said}", report.repaired)
    assert report.embedded == embedder.texts_embedded == embedded
    assert report.reused == report.chunks - embedded
    data = open_index(tiny_settings.index_dir, embedder)
    assert data.version == report.version != damaged
    result = Searcher(data, embedder, load_taxonomy()).search(Query(q="ten oldest cases", k=3))
    assert result.results[0].id == "briefs/witness"
    assert update_index(tiny_settings, embedder=embedder) is None  # and now it is current


def test_vectors_of_a_schema_2_index_are_reused_by_the_upgrade(tiny_settings, fake_embedder):
    update_index(tiny_settings, embedder=fake_embedder)
    folder = tiny_settings.index_dir / "versions" / current_version(tiny_settings.index_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["schema_version"] = 2  # which recorded a bare sha256 for two files only
    manifest["files"] = {
        name: manifest["files"][name]["sha256"] for name in ("vectors.faiss", "chunks.jsonl")
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="schema version 2, this kb reads version 3"):
        open_index(tiny_settings.index_dir, fake_embedder)

    embedder = FakeEmbedder()
    report = update_index(tiny_settings, embedder=embedder)
    assert report is not None and report.embedded == embedder.texts_embedded == 0
    assert report.repaired is None  # an older format is not damage


def _run_kb(tiny_settings, *args):
    return CliRunner().invoke(
        app, ["index", "--docs", str(tiny_settings.docs_dir), "--index", str(tiny_settings.index_dir), *args]
    )


def test_kb_index_verify_checks_every_version_and_fails_on_a_damaged_live_one(tiny_settings, fake_embedder):
    older = update_index(tiny_settings, embedder=fake_embedder)
    _edit_witness(tiny_settings)
    live = update_index(tiny_settings, embedder=fake_embedder)
    (tiny_settings.index_dir / "versions" / older.version / "bm25" / "params.index.json").unlink()

    r = _run_kb(tiny_settings, "--verify")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        f"{older.version}: is missing bm25/params.index.json",
        f"{live.version} (live): ok, {live.chunks} chunks",
    ]

    _truncate_chunks(tiny_settings.index_dir / "versions" / live.version)
    r = _run_kb(tiny_settings, "--verify")
    assert r.exit_code == 1
    assert f"{live.version} (live): has a damaged chunks.jsonl (" in r.stdout
    said = f"error: the live version {live.version} cannot be served as it is; 'kb index' rebuilds it"
    assert said in r.stderr
    # verifying changed nothing: still damaged, still live
    assert current_version(tiny_settings.index_dir) == live.version
    assert _run_kb(tiny_settings, "--verify").exit_code == 1

    (tiny_settings.index_dir / "CURRENT").unlink()
    r = _run_kb(tiny_settings, "--verify")
    assert r.exit_code == 1 and "no version is live" in r.stderr
    assert _run_kb(tiny_settings, "--verify", "--force").exit_code == 2


def test_verify_without_an_index_says_how_to_build_one(tmp_path):
    r = CliRunner().invoke(app, ["index", "--verify", "--index", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no index at" in r.stderr and "kb index" in r.stderr


def test_the_kb_index_command_reports_a_repair_then_answers_up_to_date(tiny_settings, monkeypatch):
    import kb.workflow

    # the command's own embedder is the real model: hand it the fake one instead
    monkeypatch.setattr(kb.workflow, "embedder_for", lambda settings, threads=None: FakeEmbedder())
    first = re.search(r"as (\d+) chunks \((\d+) embedded, 0 reused\)", _run_kb(tiny_settings).stdout)
    assert first and first[1] == first[2]
    live = current_version(tiny_settings.index_dir)
    assert _run_kb(tiny_settings).stdout == f"index at {tiny_settings.index_dir} is up to date\n"

    (tiny_settings.index_dir / "versions" / live / "bm25" / "vocab.index.json").unlink()
    r = _run_kb(tiny_settings)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == f"repaired: the live version {live} is missing bm25/vocab.index.json"
    assert re.match(r"indexed 5 documents as \d+ chunks \(0 embedded, \d+ reused\)", lines[1])
    assert _run_kb(tiny_settings).stdout == f"index at {tiny_settings.index_dir} is up to date\n"


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
