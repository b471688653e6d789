"""Shared fixtures.

Tiers: fast tests use tiny doc trees and a deterministic fake embedder; integration tests use
the real model on the real content through one session-scoped index and site; browser tests
drive real Chromium against a real server (search_service.process). Under CI=true nothing
that needs the model or the browser may skip: a missing prerequisite fails the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kb.settings import Settings
from search_service.process import ServerProcess
from search_service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"
IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally when a prerequisite is missing; fail under CI, where nothing may skip."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required under CI=true: {reason}")
        pytest.skip(reason)


class FakeEmbedder:
    """Deterministic bag-of-hashed-words vectors: similar words, similar vectors. For fast tests."""

    name = "fake-embedder"
    backend = "fake"
    fingerprint = "fake-weights-1"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, h % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] /= norm if norm else 1.0
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


BRIEF_BODY = """
## What it is

{what}

## The problem it addresses

Shootings concentrate among few people.

## How it works

{how}

## What the evidence says

Evaluations found a moderate reduction.

## Where it works best

Cities with strong partnerships.

## Implementing it

### Steps

Start small.

### Roles

Police and prosecutors.

### First 90 days

Form a working group.

## Common pitfalls

Losing focus.

## Measuring progress

Count shootings monthly.

## Related resources

- [Other](other.md)
"""


def brief_text(
    title: str = "Focused deterrence",
    areas: tuple[str, ...] = ("gun-violence",),
    what: str = "A focused deterrence strategy for group violence.",
    how: str = "Call-ins deliver a deterrence message.",
    rating: str = "promising",
    components: tuple[str, ...] = (),
    sites: tuple[str, ...] = (),
) -> str:
    lines = [
        "---",
        f'title: "{title}"',
        f'summary: "A short summary of {title.lower()}."',
        "type: practice-brief",
        "core_areas:",
        *[f"  - {a}" for a in areas],
        "evidence:",
        f"  rating: {rating}",
        '  basis: "Braga, Weisburd & Turchan (2018) meta-analysis."',
        f"components: [{', '.join(components)}]",
        f"sites: [{', '.join(sites)}]",
        "updated: 2025-01-15",
        "sources:",
        '  - "Braga, A. A., Weisburd, D. L., & Turchan, B. (2018). Focused deterrence. '
        'Criminology & Public Policy, 17(1)."',
        '  - "Kennedy, D. M. (2011). Don\'t Shoot. Bloomsbury."',
        "---",
    ]
    return "\n".join(lines) + "\n" + BRIEF_BODY.format(what=what, how=how)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def tiny_tree(root: Path) -> Path:
    """A small valid docs tree: four briefs in different areas, plus one non-brief page."""
    return write_tree(
        root,
        {
            "briefs/other.md": brief_text(
                "Other brief",
                ("crime-analysis",),
                what="Hot spots of crime on street segments.",
                how="Patrols visit micro places.",
                rating="effective",
            ),
            "briefs/gvi.md": brief_text(
                "Group violence intervention",
                ("gun-violence", "criminal-justice-collaboration"),
                what="Call-ins with gang members about shootings.",
                components=("atf", "eousa"),
            ),
            "briefs/witness.md": brief_text(
                "Witness cooperation",
                ("investigations",),
                what="Witnesses afraid to testify get protection.",
                how="Detectives and advocates support witnesses.",
                rating="not-rated",
                sites=("memphis-tn",),
            ),
            "briefs/cameras.md": brief_text(
                "Camera networks",
                ("technology", "gun-violence"),
                what="Registries of private cameras for video evidence.",
                rating="mixed",
            ),
            "about/overview.md": textwrap.dedent("""\
            ---
            title: Program overview
            summary: What the program is.
            type: program
            updated: 2025-01-01
            ---

            Text before the first heading.

            ## Team approaches

            Operations and diagnostic sites.
            """),
        },
    )


@pytest.fixture
def tiny_docs(tmp_path: Path) -> Path:
    return tiny_tree(tmp_path / "docs")


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_docs: Path) -> ServiceSettings:
    return ServiceSettings(
        docs_dir=tiny_docs,
        index_dir=tmp_path / "index",
        site_dir=tmp_path / "site",
        mkdocs_config=MKDOCS,
        model="fake-embedder",
        reload_interval=0.1,
    )


# ---- the real thing -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_embedder():
    from kb.workflow import embedder_for

    try:
        # The product's encoder (ONNX Runtime over the local export), as the server runs it.
        embedder = embedder_for(Settings())
        require(embedder.backend.startswith("onnx"), f"the ONNX encoder is not in use ({embedder.backend})")
        embedder.embed(["warm up"])
    except Exception as exc:  # pragma: no cover - reported as skip/fail below
        require(False, f"the real model cannot load: {exc}")
    return embedder


@pytest.fixture(scope="session")
def real_env(tmp_path_factory, real_embedder):
    """The real content indexed with the real model, and the real site built from it, once."""
    from kb.workflow import open_searcher, update_index, update_site

    base = tmp_path_factory.mktemp("real")
    settings = ServiceSettings(
        docs_dir=DOCS,
        index_dir=base / "index",
        site_dir=base / "site",
        mkdocs_config=MKDOCS,
        reload_interval=0.2,
    )
    report = update_index(settings, embedder=real_embedder)
    searcher = open_searcher(settings, embedder=real_embedder)
    update_site(settings, searcher=searcher)
    return settings, searcher, report


@pytest.fixture(scope="session")
def real_server(real_env, tmp_path_factory):
    settings, _, _ = real_env
    server = ServerProcess(settings, tmp_path_factory.mktemp("server") / "server.log").start()
    yield server
    server.stop()


def copy_repo(dest: Path) -> Path:
    """A copy of the repository's sources (no venv, no build outputs) for whole-project tests."""
    ignore = shutil.ignore_patterns(
        ".venv",
        ".git",
        "site",
        "site.tmp",
        "site.lock",
        ".kb",
        "__pycache__",
        ".pytest_cache",
        "test-artifacts",
        "*.egg-info",
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


# ---- the real browser ------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole session: Playwright's sync API keeps an event loop in the
    main thread while it runs, so every test that drives a browser shares this one."""
    require(CHROMIUM.exists(), "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@contextlib.contextmanager
def uvicorn_on_a_thread(config) -> Iterator[str]:
    """A real uvicorn server for ``config`` on a daemon thread, its URL once /readyz answers."""
    import threading
    import time

    import httpx
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def wait_ready(client, timeout: float = 10) -> dict:
    """The /readyz body once the app (a TestClient) is ready; fails after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get("/readyz")
        if r.status_code == 200:
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"not ready: {r.json()}")


@pytest.fixture
def client(tiny_settings, fake_embedder):
    """The app over a tiny index (fake embedder) and a one-page site, ready to answer."""
    from fastapi.testclient import TestClient

    from kb.workflow import update_index
    from search_service.main import create_app

    update_index(tiny_settings, embedder=fake_embedder)
    tiny_settings.site_dir.mkdir()
    (tiny_settings.site_dir / "index.html").write_text("<h1>the site</h1>")
    with TestClient(create_app(tiny_settings, embedder=fake_embedder)) as c:
        wait_ready(c)
        yield c
