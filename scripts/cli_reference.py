"""Write docs/contribute/cli.md from the kb command itself, so the reference cannot drift.

python scripts/cli_reference.py          # rewrite the page
python scripts/cli_reference.py --check  # exit 1 if the page is out of date (a test runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kb.cli import app

PAGE = Path(__file__).resolve().parents[1] / "docs" / "contribute" / "cli.md"
HEAD = """---
title: Command reference
summary: Every kb command and option, generated from the command itself.
type: guide
updated: 2026-11-28
---

This page is generated from `kb` by `scripts/cli_reference.py`; a test fails when it is out of
date. Run the commands as `.venv/bin/kb ...` from the repository, or `kb ...` with the virtual
environment activated.
"""


def _commands(group, prefix: str) -> list[tuple[str, object]]:
    # typer carries its own copy of click, so commands are recognised by shape, not class
    out = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out += _commands(cmd, f"{prefix} {name}")
        else:
            out.append((f"{prefix} {name}", cmd))
    return out


def render() -> str:
    root = typer.main.get_command(app)
    parts = [HEAD]
    for name, cmd in _commands(root, "kb"):
        parts.append(f"## `{name}`\n\n{(cmd.help or '').strip()}\n")
        rows = []
        for p in cmd.params:
            if p.param_type_name == "argument":
                rows.append(
                    (f"`{p.name.upper()}`", (getattr(p, "help", None) or "") + " (argument, required)")
                )
            elif p.param_type_name == "option" and not p.hidden:
                flags = ", ".join(f"`{o}`" for o in p.opts)
                default = (
                    "" if p.default in (None, False, ()) or p.required else (f" (default: `{p.default}`)")
                )
                rows.append((flags, (p.help or "") + default))
        if rows:
            parts.append(
                "| option | meaning |\n| --- | --- |\n"
                + "\n".join(f"| {flag} | {meaning} |" for flag, meaning in rows)
                + "\n"
            )
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
