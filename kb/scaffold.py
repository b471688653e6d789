"""``kb new KIND``: a new page from its type's template, with every placeholder still to fill in."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

from kb.errors import KBError
from kb.taxonomy import Taxonomy

TEMPLATES = Path(__file__).with_name("templates")


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def new_document(
    docs_dir: Path, kind: str, title: str, areas: list[str], taxonomy: Taxonomy, today: dt.date | None = None
) -> Path:
    """Write ``docs/<folder>/<slug>.md`` from the kind's template; refuse to overwrite."""
    dtype = taxonomy.kinds.get(kind)
    if dtype is None or dtype.folder is None:
        raise KBError(f"unknown kind '{kind}'; allowed: {', '.join(taxonomy.kinds)}")
    title = title.strip()
    slug = slugify(title)
    if not slug:
        raise KBError("the title needs at least one letter or digit to make a file name")
    if not areas:
        raise KBError(f"give at least one --area: {', '.join(taxonomy.area_slugs)}")
    if len(areas) > 3:
        raise KBError("give at most three --area options (primary first)")
    for a in areas:
        if a not in taxonomy.area_slugs:
            raise KBError(f"unknown core area '{a}'; allowed: {', '.join(taxonomy.area_slugs)}")
    path = docs_dir / dtype.folder / f"{slug}.md"
    if path.exists():
        raise KBError(f"{path} already exists; edit it, or choose another title")
    text = (
        (TEMPLATES / f"{kind}.md")
        .read_text(encoding="utf-8")
        .format(
            title=json.dumps(title, ensure_ascii=False),  # a JSON string is a valid YAML scalar
            core_areas="\n".join(f"  - {a}" for a in areas),
            today=(today or dt.date.today()).isoformat(),
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as f:  # "x": never clobber a file written meanwhile
        f.write(text)
    return path
