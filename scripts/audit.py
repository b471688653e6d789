"""Measure the served site as an outside reviewer would: Lighthouse scores and the search page's
weight, layout shift and time to first result. Run by `make audit`.

Brings the index and the site up to date (as `kb serve` does), starts the real server on a free
port, then:
- runs Lighthouse (the npm package, pinned by the Makefile) in headless Chromium on each page, with
  its mobile and desktop presets, for performance, accessibility, best practices and SEO;
- loads the search page with a query in Playwright, several times in fresh browser contexts (a
  cold cache, as a first visit), and records the time from navigation to the first result card,
  the cumulative layout shift at desktop and phone widths, and the bytes transferred.

Writes test-artifacts/audit.json and a Markdown table beside it (audit.md). With --compare
OLD.json, the table shows each figure as before -> after. Figures vary with the machine's load:
run it on a quiet machine, and compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
LIGHTHOUSE = ROOT / ".venv/node/lighthouse/node_modules/lighthouse/cli/index.js"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
SEARCH = "/search/?q=gun+violence+strategies"
PAGES = {
    "home": "/",
    "area": "/areas/gun-violence/",
    "brief": "/briefs/focused-deterrence-gvi/",
    "site": "/sites/milwaukee-wi/",
    "search": SEARCH,
}
FORM_FACTORS = ["mobile", "desktop"]
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-sync"

# Layout shifts summed over the page's life (the CLS definition without session windows, so
# never below Lighthouse's figure), and the first result card's time after navigation start.
OBSERVE = """
window.__kbShift = 0;
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__kbShift += e.value;
}).observe({type: 'layout-shift', buffered: true});
new MutationObserver((_, obs) => {
  if (document.querySelector('#kb-results > li')) {
    window.__kbFirstCard = performance.now();
    obs.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def lighthouse(url: str, form_factor: str) -> dict[str, Any]:
    cmd = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if form_factor == "desktop":
        cmd.append("--preset=desktop")
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        timeout=300,
    )
    if out.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url} ({form_factor}):\n{out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    audits = report["audits"]
    return {
        "scores": {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES},
        "total_byte_weight": audits["total-byte-weight"].get("numericValue"),
        "cls": audits["cumulative-layout-shift"].get("numericValue"),
        "lcp_ms": audits["largest-contentful-paint"].get("numericValue"),
        "failed_accessibility": sorted(
            a["id"]
            for a in (report["categories"]["accessibility"]["auditRefs"])
            if audits[a["id"]].get("score") == 0
        ),
    }


def search_page_figures(base: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    viewports = {"desktop": {"width": 1350, "height": 940}, "phone": {"width": 390, "height": 844}}
    first_card: list[float] = []
    shifts: dict[str, list[float]] = {name: [] for name in viewports}
    transferred: list[int] = []
    with sync_playwright() as p:
        # Scrollbars shown, as people see the page: one appearing as results arrive is a shift.
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu"],
            ignore_default_args=["--hide-scrollbars"],
        )
        for _ in range(runs):
            for name, viewport in viewports.items():
                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                page.add_init_script(OBSERVE)
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                sizes: list[int] = []
                cdp.on("Network.loadingFinished", lambda e, s=sizes: s.append(e["encodedDataLength"]))
                page.goto(base + SEARCH, wait_until="load")
                page.wait_for_selector("#kb-results > li", timeout=30_000)
                page.wait_for_load_state("networkidle")
                time.sleep(0.5)
                shifts[name].append(page.evaluate("window.__kbShift"))
                if name == "desktop":
                    first_card.append(page.evaluate("window.__kbFirstCard"))
                    transferred.append(sum(sizes))
                context.close()
        browser.close()
    return {
        "first_result_ms": {"median": statistics.median(first_card), "runs": first_card},
        "cls": {name: max(v) for name, v in shifts.items()},
        "transferred_bytes": statistics.median(transferred),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median performance score (the other figures come from that same run)."""
    ordered = sorted(runs, key=lambda r: r["scores"]["performance"])
    return ordered[len(ordered) // 2]


def table(result: dict[str, Any], before: dict[str, Any] | None) -> str:
    def cell(now: Any, old: Any) -> str:
        return f"{old} → {now}" if before is not None and old != now else f"{now}"

    lines = [
        "| page | form factor | " + " | ".join(CATEGORIES) + " |",
        "| --- | --- | " + " | ".join("---" for _ in CATEGORIES) + " |",
    ]
    for page, by_factor in result["lighthouse"].items():
        for factor, run in by_factor.items():
            old = ((before or {}).get("lighthouse", {}).get(page, {}).get(factor) or {}).get("scores", {})
            lines.append(
                f"| {page} | {factor} | "
                + " | ".join(cell(run["scores"][c], old.get(c, "–")) for c in CATEGORIES)
                + " |"
            )
    s, b = result["search"], (before or {}).get("search", {})

    def lighthouse_cls(factor: str) -> str:
        now = result["lighthouse"]["search"][factor]["cls"]
        old = ((before or {}).get("lighthouse", {}).get("search", {}).get(factor) or {}).get("cls")
        return f"{old:.3f} → {now:.3f}" if old is not None else f"{now:.3f}"

    def fig(key: str, fmt: str, sub: str | None = None) -> str:
        now = s[key][sub] if sub else s[key]
        old = (b.get(key, {}).get(sub) if sub else b.get(key)) if b else None
        now_s = fmt.format(now)
        return f"{fmt.format(old)} → {now_s}" if old is not None else now_s

    lines += [
        "",
        '| search page ("gun violence strategies") | figure |',
        "| --- | --- |",
        f"| transferred, cold cache | {fig('transferred_bytes', '{:,.0f} B')} |",
        f"| layout shift, desktop (Playwright, 1350 px) | {fig('cls', '{:.3f}', 'desktop')} |",
        f"| layout shift, phone (Playwright, 390 px) | {fig('cls', '{:.3f}', 'phone')} |",
        *[
            f"| layout shift, Lighthouse {factor} | {lighthouse_cls(factor)} |"
            for factor in FORM_FACTORS
            if "search" in result["lighthouse"]
        ],
        f"| navigation to first result card (median) | {fig('first_result_ms', '{:.0f} ms', 'median')} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "audit.json")
    parser.add_argument("--compare", type=Path, help="an earlier audit.json to show as 'before'")
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page (median)")
    parser.add_argument("--search-runs", type=int, default=5)
    parser.add_argument("--pages", nargs="*", choices=list(PAGES), default=list(PAGES))
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is not installed: run `make audit` (it installs it)")

    from kb.settings import Settings
    from kb.workflow import update_index, update_site
    from search_service.process import ServerProcess

    settings = Settings()
    update_index(settings)
    update_site(settings)
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}, "lighthouse": {}}
    with ServerProcess(settings) as server:
        for name in args.pages:
            result["lighthouse"][name] = {}
            for factor in FORM_FACTORS:
                runs = [lighthouse(server.url + PAGES[name], factor) for _ in range(args.runs)]
                result["lighthouse"][name][factor] = median_run(runs)
                print(f"{name:7} {factor:8} {result['lighthouse'][name][factor]['scores']}", flush=True)
        result["search"] = search_page_figures(server.url, args.search_runs)
    before = json.loads(args.compare.read_text()) if args.compare else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    md = table(result, before)
    args.out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
