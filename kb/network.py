"""The peer-exchange network: who visited whom, drawn as an SVG at build time.

Pure: front matter in, SVG text out. Nodes are the parties of every peer exchange (PSP sites
link to their pages; agencies outside PSP are drawn hollow), laid out on a circle; an arrow runs
from the visitors to the host, thicker when the same pair met more than once. The SVG is an
image with a title and description; the page lists the same exchanges as text beside it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from html import escape
from typing import Any

from kb.documents import Document
from kb.taxonomy import Taxonomy

_SIZE = 760
_RADIUS = 215


def _key(party: Any) -> str:
    return party if isinstance(party, str) else f"agency:{party['agency']}"


def exchange_network(docs: list[Document], taxonomy: Taxonomy) -> dict[str, Any]:
    """The drawing for every peer exchange in ``docs`` ({} when there is none): ``svg`` (the
    arrows and dots) and ``labels`` (one per party, placed in percent of the drawing, with the
    site page's path for a PSP site). Labels are HTML links laid over the picture, so they stay
    readable at any width and work like every other link on the site."""
    exchanges = [d for d in docs if d.type == "peer-exchange" and d.meta.host is not None]
    if not exchanges:
        return {}
    sites = {s.slug: s for s in taxonomy.sites}
    labels: dict[str, str] = {}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    degree: Counter[str] = Counter()
    for doc in exchanges:
        host = _key(doc.meta.host)
        for party in [doc.meta.host, *doc.meta.visitors]:
            if isinstance(party, str):
                labels[_key(party)] = sites[party].city if party in sites else party
            else:  # an agency outside PSP, shown by its city where the source gives one
                labels[_key(party)] = (party.get("place") or party["agency"]).split(",")[0]  # type: ignore[union-attr,index]
        for visitor in doc.meta.visitors:
            edge = (_key(visitor), host)
            edges[edge].append(doc.title)
            degree[edge[0]] += 1
            degree[edge[1]] += 1
    # Sites first, in alphabetical order of their labels, then agencies: a stable layout.
    order = sorted(labels, key=lambda k: (k.startswith("agency:"), labels[k].casefold()))
    centre = _SIZE / 2
    pos = {}
    for i, key in enumerate(order):
        angle = 2 * math.pi * i / len(order) - math.pi / 2
        pos[key] = (centre + _RADIUS * math.cos(angle), centre + _RADIUS * math.sin(angle), angle)

    svg = [
        f'<svg class="kb-network" viewBox="0 0 {_SIZE} {_SIZE}" role="img" '
        'aria-labelledby="kb-network-title kb-network-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="kb-network-title">Peer exchanges: who visited whom</title>',
        f'<desc id="kb-network-desc">{len(exchanges)} peer exchanges among {len(order)} '
        "sites and agencies. Arrows run from the visitors to the host. The table below the "
        "picture lists the same exchanges as text.</desc>",
        '<defs><marker id="kb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="kb-network-arrow"/></marker></defs>',
    ]
    for (src, dst), titles in sorted(edges.items()):
        x1, y1, _ = pos[src]
        x2, y2, _ = pos[dst]
        # Stop the arrow at the host's dot, so the head stays visible.
        r = _node_radius(degree[dst]) + 3
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        x2, y2 = x2 - (x2 - x1) * r / length, y2 - (y2 - y1) * r / length
        width = 1.5 + 1.2 * (len(titles) - 1)
        svg.append(
            f'<line class="kb-network-edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" '
            f'y2="{y2:.1f}" stroke-width="{width:.1f}" marker-end="url(#kb-arrow)">'
            f"<title>{escape('; '.join(titles))}</title></line>"
        )
    out_labels = []
    for key in order:
        x, y, angle = pos[key]
        agency = key.startswith("agency:")
        svg.append(
            f'<circle class="kb-network-node{" kb-network-node--agency" if agency else ""}" '
            f'cx="{x:.1f}" cy="{y:.1f}" r="{_node_radius(degree[key]):.1f}"/>'
        )
        r = _node_radius(degree[key]) + 6
        lx, ly = x + r * math.cos(angle), y + r * math.sin(angle)
        side = "right" if math.cos(angle) > 0.15 else "left" if math.cos(angle) < -0.15 else "middle"
        out_labels.append(
            {
                "label": labels[key],
                "site": None if agency else key,
                "left": round(100 * lx / _SIZE, 2),
                "top": round(100 * ly / _SIZE, 2),
                "side": side,
                "agency": agency,
            }
        )
    svg.append("</svg>")
    return {"svg": "\n".join(svg), "labels": out_labels}


def _node_radius(degree: int) -> float:
    return 5 + 2.2 * math.sqrt(max(degree, 1))
