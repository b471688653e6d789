"""``kb bench``: speed figures on the real content, against a real server over HTTP.

It lives with the service because it starts one (kb never imports the service: the ``kb``
command reaches this module through the ``kb.service`` entry point).

Measures: single-client latency (p50/p95/p99) for distinct and for repeated queries; throughput
and errors at 4 and 16 concurrent clients; a full index build (seconds, chunks/s); an incremental
re-index after editing one brief (in-process and as a ``kb index`` run); cold start to ready;
peak memory of the server and of a full build; and one client's latency while four others flood
the server with bodies of the largest size it accepts, next to the same client's quiet latency.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kb.errors import KBError
from kb.evaluation import DEFAULT_GOLDEN, load_golden
from kb.index import current_version, read_manifest
from kb.workflow import embedder_for, update_index, update_site
from search_service.process import ServerProcess
from search_service.settings import ServiceSettings

_PREFIXES = ["", "how to ", "what works for ", "evidence on ", "first steps for "]
# Suffixes multiply the distinct queries, so throughput runs never hit the query cache.
_SUFFIXES = [
    "",
    " in our city",
    " for a small department",
    " with federal partners",
    " on a tight budget",
    " with community support",
    " for analysts",
    " for prosecutors",
]


def run_bench(settings: ServiceSettings, *, quick: bool = False) -> dict[str, Any]:
    import httpx

    update_index(settings, embedder=embedder_for(settings, threads=os.cpu_count()))
    update_site(settings)
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    queries = _distinct_queries()
    figures["encode_one_query_ms"] = _encoders(settings, queries[: 200 if quick else 400])
    with ServerProcess(settings) as server:
        url, proc = server.url, server.proc
        assert proc is not None  # started by the with statement
        figures["cold_start_to_ready_s"] = round(server.cold_start_s or 0.0, 2)
        with httpx.Client(base_url=url, timeout=30) as client:
            for q in queries[:5]:  # warm the connection and the code paths, not the cache
                client.get("/api/search", params={"q": q + " warm"})
            n = 60 if quick else 400
            figures["latency_distinct_ms"] = _latency(client, queries[:n])
            figures["latency_repeated_ms"] = _latency(client, ["gun violence strategies"] * n)
        unseen = queries[n:]
        for clients in (4, 16):
            # each run takes queries the server has not seen: every request embeds its query
            figures[f"throughput_{clients}_clients"] = _throughput(
                url, unseen, clients, seconds=3 if quick else 10
            )
            unseen = unseen[figures[f"throughput_{clients}_clients"]["requests"] :]
        figures["flood"] = _flood(url, queries, settings.max_body_bytes, seconds=3 if quick else 10)
        figures["server_peak_rss_mb"] = _peak_rss_mb(proc.pid)
    figures.update(_builds(settings, quick=quick))
    return figures


def format_table(f: dict[str, Any]) -> str:
    enc = f["encode_one_query_ms"]
    rows = [
        (
            "encode one query (in process)",
            " · ".join(f"{name} p50 {e['p50']} ms" for name, e in enc.items() if isinstance(e, dict))
            + f" · ONNX {enc['speedup']}x faster; the server uses {enc['served']}",
        ),
        ("cold start to ready", f"{f['cold_start_to_ready_s']} s"),
    ]
    for kind in ("distinct", "repeated"):
        lat = f[f"latency_{kind}_ms"]
        rows.append(
            (
                f"latency, 1 client, {kind} queries",
                f"p50 {lat['p50']} ms · p95 {lat['p95']} ms · p99 {lat['p99']} ms (n={lat['n']})",
            )
        )
    for clients in (4, 16):
        t = f[f"throughput_{clients}_clients"]
        rows.append(
            (
                f"throughput, {clients} clients",
                f"{t['qps']} queries/s · {t['errors']} errors · p50 {t['p50_ms']} ms · "
                f"p99 {t['p99_ms']} ms (n={t['requests']})",
            )
        )
    fl = f["flood"]
    rows.append(
        (
            f"1 client while {fl['flooders']} flood {fl['body_bytes'] // 1024} KB bodies",
            f"p50 {fl['flood_p50_ms']} ms vs {fl['quiet_p50_ms']} ms quiet ({fl['p50_ratio']}x) · "
            f"p99 {fl['flood_p99_ms']} ms vs {fl['quiet_p99_ms']} ms · "
            f"{fl['flood_requests']} flood requests, answered {fl['flood_statuses']}",
        )
    )
    b = f["full_build"]
    rows.append(
        (
            "full index build",
            f"{b['seconds']} s · {b['chunks']} chunks · "
            f"{b['chunks_per_s']} chunks/s · peak {b['peak_rss_mb']} MB",
        )
    )
    sw = f["searching_while_editing"]
    rows.append(
        (
            "1 client searching, quiet / while editing",
            f"p50 {sw['quiet']['p50_ms']} / {sw['editing']['p50_ms']} ms · p99 {sw['quiet']['p99_ms']} / "
            f"{sw['editing']['p99_ms']} ms ({sw['p99_ratio']}x)",
        )
    )
    inc = f["incremental_reindex"]
    rows.append(
        ("edit one brief → searchable (kb serve)", f"{inc['serve_edit_to_searchable_s']} s end to end")
    )
    rows.append(
        (
            "'kb index' after editing one brief",
            f"{inc['kb_index_command_s']} s ({inc['embedded']} chunk embedded; a new process, "
            "model load included)",
        )
    )
    rows.append(("server peak memory", f"{f['server_peak_rss_mb']} MB"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _encoders(settings: ServiceSettings, queries: list[str]) -> dict[str, Any]:
    """One query at a time through each encoder, side by side, one thread each (as the server
    runs them): the cost every uncached request pays."""
    from kb.embedding import SentenceTransformerEmbedder

    torch_encoder = SentenceTransformerEmbedder(settings.model)
    torch_encoder.embed(["warm up"])
    import torch

    torch.set_num_threads(1)
    out: dict[str, Any] = {}
    for name, encoder in (
        ("onnx-int8", embedder_for(settings.model_copy(update={"embedder": "onnx-int8"}), threads=1)),
        ("onnx-fp32", embedder_for(settings.model_copy(update={"embedder": "onnx"}), threads=1)),
        ("torch", torch_encoder),
    ):
        encoder.embed(["warm up"])
        ms = []
        for q in queries:
            started = time.perf_counter()
            encoder.embed([q])
            ms.append((time.perf_counter() - started) * 1000)
        out[name] = _percentiles(ms)
    out["served"] = embedder_for(settings, threads=1).backend
    out["speedup"] = round(out["torch"]["p50"] / out[out["served"]]["p50"], 2)
    return out


def _distinct_queries() -> list[str]:
    base = [q["q"] for q in load_golden(DEFAULT_GOLDEN)]
    return [p + q + s for s in _SUFFIXES for p in _PREFIXES for q in base]


def _percentiles(ms: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": round(qs[49], 2),
        "p95": round(qs[94], 2),
        "p99": round(qs[98], 2),
        "mean": round(statistics.fmean(ms), 2),
        "n": len(ms),
    }


def _latency(client, queries: list[str]) -> dict[str, float]:
    ms = []
    for q in queries:
        started = time.perf_counter()
        r = client.get("/api/search", params={"q": q})
        ms.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise KBError(f"bench query {q!r} answered {r.status_code}: {r.text[:200]}")
    return _percentiles(ms)


def _throughput(url: str, queries: list[str], clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    stop = time.perf_counter() + seconds
    lock = threading.Lock()
    ms: list[float] = []
    errors = 0

    def worker(offset: int) -> None:
        nonlocal errors
        i = offset
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.perf_counter() < stop:
                if i >= len(queries):
                    break
                q = queries[i]
                i += clients
                started = time.perf_counter()
                try:
                    ok = client.get("/api/search", params={"q": q}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    ms.append(elapsed)
                    errors += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    p = _percentiles(ms)
    return {
        "qps": round(len(ms) / wall, 1),
        "errors": errors,
        "requests": len(ms),
        "p50_ms": p["p50"],
        "p99_ms": p["p99"],
    }


def _flood(
    url: str, queries: list[str], body_bytes: int, seconds: float, flooders: int = 4
) -> dict[str, Any]:
    """One probe client's search latency, quiet and then while ``flooders`` threads post
    bodies of exactly the largest accepted size (a q far too long: refused with 422 after
    parsing, the most a body can cost). Probe queries are new to the server: each embeds.
    The flood comes from another process, as other clients would: in this one, its threads
    would hold the probe's own GIL and time the bench rather than the server."""
    import multiprocessing

    import httpx

    probes = iter(f"{q} (probe {i})" for i, q in enumerate(queries * 4))

    def probe(client: httpx.Client) -> list[float]:
        ms = []
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            started = time.perf_counter()
            r = client.get("/api/search", params={"q": next(probes)})
            ms.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise KBError(f"a bench probe answered {r.status_code}: {r.text[:200]}")
        return ms

    spawn = multiprocessing.get_context("spawn")
    done, results = spawn.Event(), spawn.Queue()
    child = spawn.Process(target=_flood_clients, args=(url, body_bytes, flooders, done, results))
    with httpx.Client(base_url=url, timeout=30) as client:
        quiet = _percentiles(probe(client))
        child.start()
        try:
            if not results.get(timeout=60) == "started":
                raise KBError("the flood clients did not start")
            flooded = _percentiles(probe(client))
        finally:
            done.set()
        statuses: dict[str, int] = results.get(timeout=60)
        child.join(30)
    return {
        "flooders": flooders,
        "body_bytes": body_bytes,
        "quiet_p50_ms": quiet["p50"],
        "quiet_p99_ms": quiet["p99"],
        "flood_p50_ms": flooded["p50"],
        "flood_p99_ms": flooded["p99"],
        "p50_ratio": round(flooded["p50"] / quiet["p50"], 2),
        "probe_requests": quiet["n"] + flooded["n"],
        "flood_requests": sum(statuses.values()),
        "flood_statuses": dict(sorted(statuses.items())),
    }


def _flood_clients(url: str, body_bytes: int, flooders: int, done: Any, results: Any) -> None:
    """In a child process: ``flooders`` threads posting maximal bodies until ``done``."""
    import httpx

    prefix, suffix = b'{"q": "', b'"}'
    body = prefix + b"x" * (body_bytes - len(prefix) - len(suffix)) + suffix
    lock = threading.Lock()
    statuses: dict[str, int] = {}

    def flood() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not done.is_set():
                try:
                    r = client.post("/api/search", content=body, headers={"Content-Type": "application/json"})
                    status = str(r.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=flood) for _ in range(flooders)]
    for t in threads:
        t.start()
    results.put("started")
    for t in threads:
        t.join()
    results.put(statuses)


def _builds(settings: ServiceSettings, *, quick: bool) -> dict[str, Any]:
    """A full build from scratch, then an edit to one brief and an incremental re-index."""
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(settings.docs_dir, docs)
        index = Path(tmp) / "index"
        env = {
            **os.environ,
            **settings.model_copy(update={"docs_dir": docs, "index_dir": index}).as_env(),
            "HF_HUB_OFFLINE": "1",
        }
        full = _timed_child([sys.executable, "-m", "kb.cli", "index", "--force"], env)
        chunks = read_manifest(index / "versions" / str(current_version(index))).chunk_count
        brief = sorted((docs / "briefs").glob("*.md"))[1]
        text = brief.read_text(encoding="utf-8")
        brief.write_text(
            text.replace("## Common pitfalls\n", "## Common pitfalls\n\nA bench edit to one section.\n", 1),
            encoding="utf-8",
        )
        command = _timed_child([sys.executable, "-m", "kb.cli", "index"], env)
        counted = re.search(r"\((\d+) embedded", command["stdout"])
        if counted is None:
            raise KBError(f"'kb index' did not report what it embedded: {command['stdout']!r}")
        embedded = int(counted.group(1))
        site = Path(tmp) / "site"
        shutil.copytree(settings.site_dir, site)
        served = settings.model_copy(
            update={
                "docs_dir": docs,
                "index_dir": index,
                "site_dir": site,
                "watch": True,
                "reload_interval": 0.2,
            }
        )
        with ServerProcess(served) as server:
            started = time.perf_counter()
            brief.write_text(
                text.replace(
                    "## Common pitfalls\n", "## Common pitfalls\n\nQuokka review of every case.\n", 1
                ),
                encoding="utf-8",
            )
            while True:
                hits = server.search(q="quokka review", k=1)
                if hits and "Quokka" in hits[0]["snippet"]:
                    break
                if time.perf_counter() - started > 120:
                    raise KBError("the edited brief did not become searchable within 120 s")
                time.sleep(0.05)
            edit_to_searchable = time.perf_counter() - started
            during_edits = _searching_while_editing(server.url, brief, text, 4 if quick else 12)
    return {
        "searching_while_editing": during_edits,
        "full_build": {
            "seconds": round(full["seconds"], 1),
            "chunks": chunks,
            "chunks_per_s": round(chunks / full["seconds"], 1),
            "peak_rss_mb": full["peak_rss_mb"],
        },
        "incremental_reindex": {
            "serve_edit_to_searchable_s": round(edit_to_searchable, 2),
            "kb_index_command_s": round(command["seconds"], 2),
            "embedded": embedded,
        },
    }


def _searching_while_editing(url: str, brief: Path, text: str, seconds: float) -> dict[str, Any]:
    """One client searching (distinct queries) for ``seconds`` while nothing changes, then for
    as long again while a brief is edited every 2 s under `kb serve` (each edit is re-indexed
    and the site rebuilt by child processes): its p50 and p99 in both."""
    import httpx

    queries = itertools.cycle(_distinct_queries()[::-1])

    def probe(until: float, edit: bool) -> dict[str, float]:
        ms: list[float] = []
        next_edit, n = time.perf_counter(), 0
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.perf_counter() < until:
                if edit and time.perf_counter() >= next_edit:
                    n += 1
                    brief.write_text(
                        text.replace(
                            "## Common pitfalls\n", f"## Common pitfalls\n\nBench edit number {n}.\n", 1
                        ),
                        encoding="utf-8",
                    )
                    next_edit += 2.0
                started = time.perf_counter()
                client.get("/api/search", params={"q": next(queries)})
                ms.append((time.perf_counter() - started) * 1000)
        p = _percentiles(ms)
        return {"p50_ms": p["p50"], "p99_ms": p["p99"], "n": p["n"]}

    quiet = probe(time.perf_counter() + seconds, edit=False)
    editing = probe(time.perf_counter() + seconds, edit=True)
    return {"quiet": quiet, "editing": editing, "p99_ratio": round(editing["p99_ms"] / quiet["p99_ms"], 2)}


def _timed_child(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise KBError(f"{' '.join(cmd[:4])} failed: {proc.stderr[-1500:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "stdout": proc.stdout, "peak_rss_mb": round(max(peak, before) / 1024, 1)}


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")
