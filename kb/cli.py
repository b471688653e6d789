"""``kb``: the command line. Thin commands that each call one library function.

Errors from kb become a message on stderr and exit 1; bad arguments exit 2 (typer's usage error).
Heavy modules (torch, FAISS, MkDocs) are imported inside the commands, so ``kb --help`` is fast.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from kb.errors import ContentError, KBError
from kb.settings import Settings


class _TranslatingGroup(typer.core.TyperGroup):
    """The one edge where whatever a command lets escape becomes one line and exit 1: a full
    disk, a read-only or forbidden folder, a missing file or model, any kb error. A traceback
    tells a contributor nothing they can act on; these lines say what to do."""

    # Any: the parameter's type is the click Context that typer vendors privately.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            raise _fail(describe_os_error(exc)) from None
        except KBError as exc:
            raise _fail(str(exc)) from None


app = typer.Typer(
    cls=_TranslatingGroup,
    help="The PSP Community of Practice knowledge base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DocsOpt = Annotated[
    Path | None, typer.Option("--docs", help="Docs folder [env KB_DOCS_DIR]", show_default=False)
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder [env KB_INDEX_DIR]", show_default=False)
]
AreaOpt = Annotated[list[str] | None, typer.Option("--area", help="A core area slug (repeatable)")]


def _settings(docs: Path | None, index: Path | None, **more) -> Settings:
    overrides = {k: v for k, v in {"docs_dir": docs, "index_dir": index, **more}.items() if v is not None}
    return Settings(**overrides)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


_WHERE = "--docs, --index, --out or the KB_*_DIR settings"


def describe_os_error(exc: OSError) -> str:
    """One line: what happened to which file, and what to do about it."""
    path = exc.filename if exc.filename is not None else exc.filename2
    at = f" {path}" if path is not None else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full while writing{at}; free some space and run the command again"
    if exc.errno == errno.EROFS:
        return f"{path or 'the folder'} is on a read-only file system; point {_WHERE} at a writable folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to use{at}; fix its permissions or point {_WHERE} at another folder"
    if exc.errno == errno.ENOENT:
        return f"{path or 'a file'} does not exist; check {_WHERE} and KB_MODEL, then run the command again"
    reason = (exc.strerror or str(exc)).replace("\n", " ")
    return f"{reason}{':' + at if at else ''}; fix that and run the command again"


@app.command("new")
def new_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="What to write: brief, exchange, community, case-study or toolkit", show_default=False
        ),
    ],
    title: Annotated[str, typer.Option("--title", help="The page's title")],
    area: AreaOpt = None,
    docs: DocsOpt = None,
    index: IndexOpt = None,
) -> None:
    """Write docs/<folder>/<slug>.md from the template of KIND."""
    from kb.scaffold import new_document
    from kb.taxonomy import load_taxonomy

    s = _settings(docs, index)
    try:
        path = new_document(s.docs_dir, kind, title, area or [], load_taxonomy(s.taxonomy))
    except KBError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {path}: replace every TODO, then run 'kb check'")


@app.command()
def check(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Treat warnings as problems (every source needs a url or doi; a rated "
            "brief needs evidence.url)",
        ),
    ] = False,
) -> None:
    """Validate all content; print path:line: message per problem (path:line: warning: message
    for what only --strict refuses). Writes nothing."""
    from kb.taxonomy import load_taxonomy
    from kb.validation import check_content, errors

    s = _settings(docs, index)
    try:
        found, problems = check_content(s.docs_dir, load_taxonomy(s.taxonomy), s.mkdocs_config, strict=strict)
    except ContentError as exc:
        found, problems = [], exc.problems
    except KBError as exc:
        raise _fail(str(exc)) from None
    for p in problems:
        typer.echo(str(p))
    failed = errors(problems)
    warned = len(problems) - len(failed)
    if failed:
        typer.echo(
            f"{len(failed)} problem(s) in {s.docs_dir}" + (f", and {warned} warning(s)" if warned else ""),
            err=True,
        )
        raise typer.Exit(1)
    briefs = sum(1 for d in found if d.type == "practice-brief")
    typer.echo(
        f"ok: {len(found)} documents ({briefs} practice briefs) in {s.docs_dir}, "
        + (f"no problems; {warned} warning(s), which --strict refuses" if warned else "no problems")
    )


@app.command("index")
def index_cmd(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    force: Annotated[bool, typer.Option(help="Rebuild even when up to date")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Build nothing: check every version's files against its manifest, one line "
            "per version; exit 1 when the live one is damaged",
        ),
    ] = False,
) -> None:
    """Build or update the search index (only changed chunks are re-embedded), atomically.
    A damaged live version is rebuilt, reusing the vectors whose files still check out."""
    s = _settings(docs, index)
    if verify:
        if force:
            raise typer.BadParameter("--verify builds nothing; leave out --force", param_hint="--verify")
        _verify_index(s.index_dir)
        return
    from kb.workflow import update_index

    try:
        report = update_index(s, force=force, progress=True)
    except KBError as exc:
        raise _fail(str(exc)) from None
    if report is None:
        typer.echo(f"index at {s.index_dir} is up to date")
    else:
        if report.repaired:
            typer.echo(f"repaired: the live {report.repaired}")
        typer.echo(
            f"indexed {report.documents} documents as {report.chunks} chunks "
            f"({report.embedded} embedded, {report.reused} reused) in "
            f"{report.seconds:.1f} s: version {report.version}"
        )


def _verify_index(index_dir: Path) -> None:
    from kb.index import verify_index

    try:
        checks = verify_index(index_dir)
    except KBError as exc:
        raise _fail(str(exc)) from None
    for c in checks:
        state = f"ok, {c.chunks} chunks" if c.problem is None else c.problem
        typer.echo(f"{c.version}{' (live)' if c.live else ''}: {state}")
    live = [c for c in checks if c.live]
    if not live:
        raise _fail(f"no version is live (no CURRENT in {index_dir}); 'kb index' builds one")
    if live[0].problem is not None:
        raise _fail(f"the live version {live[0].version} cannot be served as it is; 'kb index' rebuilds it")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words")],
    area: AreaOpt = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Document type")] = None,
    k: Annotated[int, typer.Option("--k", help="Number of results (1-50)")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    docs: DocsOpt = None,
    index: IndexOpt = None,
) -> None:
    """Search the index from the shell."""
    from kb.search import Query
    from kb.workflow import open_searcher

    s = _settings(docs, index)
    try:
        searcher = open_searcher(s)
        result = searcher.search(Query(q=query, k=k, filters={"area": area or (), "type": type_ or ()}))
    except KBError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(result), indent=2, ensure_ascii=False))
        return
    if result.notice:
        typer.echo(result.notice)
    if result.did_you_mean:
        typer.echo(f"Did you mean: {result.did_you_mean}?")
    typer.echo(f"{result.total} matching documents for {result.query!r}")
    for n, hit in enumerate(result.results, 1):
        plain = hit.snippet.replace("<mark>", "").replace("</mark>", "")
        typer.echo(
            f"{n:2}. {hit.title}  [{', '.join(hit.core_areas)}]\n    {hit.url}\n    {hit.section}: {plain}"
        )


@app.command()
def site(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    force: Annotated[bool, typer.Option(help="Rebuild even when up to date")] = False,
) -> None:
    """Build the static site (with related briefs from the index) when stale."""
    from kb.workflow import update_site

    s = _settings(docs, index)
    try:
        built = update_site(s, force=force)
    except KBError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"site built in {s.site_dir}" if built else f"site in {s.site_dir} is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface [env KB_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env KB_PORT]")] = None,
    docs: DocsOpt = None,
    index: IndexOpt = None,
) -> None:
    """Build what is stale, then serve the site and the API."""
    s = _settings(docs, index, host=host, port=port)
    try:
        _service("serve")(s, announce=typer.echo)
    except KBError as exc:
        raise _fail(str(exc)) from None


@app.command("eval")
def eval_cmd(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    golden: Annotated[Path | None, typer.Option(help="Golden query set (YAML)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run the golden query set: nDCG@10, MRR@10, Recall@5/@20 per method, per tagged subset,
    and the precision and recall of "no match" against the negative queries."""
    from kb.evaluation import (
        DEFAULT_GOLDEN,
        DEFAULT_NEGATIVES,
        evaluate,
        evaluate_no_match,
        format_table,
        negatives_part,
    )
    from kb.workflow import open_searcher

    s = _settings(docs, index)
    golden = golden or DEFAULT_GOLDEN
    try:
        searcher = open_searcher(s)
        report = evaluate(searcher, golden, s.site_dir)
        report["no_match"] = evaluate_no_match(searcher, golden, DEFAULT_NEGATIVES, negatives_part(golden))
    except KBError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(report, indent=2) if as_json else format_table(report))


@app.command()
def gaps(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    limit: Annotated[int, typer.Option(help="How many queries to list")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The searches that found no good match in the last 90 days, with counts (no personal
    data: the query text, the day and the areas it was about)."""
    from dataclasses import asdict

    from kb.gaps import QueryLog, query_log_path

    s = _settings(docs, index)
    found = QueryLog(query_log_path(s.index_dir)).top(limit)
    if as_json:
        typer.echo(json.dumps([asdict(g) for g in found], indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo(
            "no searches without a good match in the last 90 days"
            + ("" if s.query_log else " (recording is off: KB_QUERY_LOG=off)")
        )
        return
    typer.echo(f"{'count':>5}  {'match':<5}  query  [areas]")
    for g in found:
        areas = f"  [{', '.join(g.areas)}]" if g.areas else ""
        typer.echo(f"{g.count:>5}  {g.match:<5}  {g.query}{areas}")


@app.command()
def bench(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    out: Annotated[Path, typer.Option(help="Where to write the JSON figures")] = Path("bench.json"),
    quick: Annotated[bool, typer.Option(help="Fewer requests (for a smoke run)")] = False,
    scale: Annotated[
        list[int] | None,
        typer.Option(
            "--scale",
            help="Instead: the engine alone on the real chunks replicated to N chunks "
            "(repeatable; e.g. --scale 1000 --scale 100000), no model work timed",
        ),
    ] = None,
) -> None:
    """Latency, throughput, build time and memory, against a real server over HTTP; or, with
    --scale, the engine's latency as the corpus grows."""
    s = _settings(docs, index)
    try:
        if scale:
            from kb.evaluation import DEFAULT_GOLDEN, load_golden
            from kb.scale import format_scale, scale_bench
            from kb.taxonomy import load_taxonomy
            from kb.workflow import open_searcher, update_index

            update_index(s)
            searcher = open_searcher(s)
            rows = scale_bench(
                searcher.data,
                searcher.embedder,
                load_taxonomy(s.taxonomy),
                [g["q"] for g in load_golden(DEFAULT_GOLDEN)],
                tuple(scale),
            )
            figures, table = {"scale": rows}, format_scale(rows)
        else:
            figures, table = _service("bench")(s, quick=quick)
    except KBError as exc:
        raise _fail(str(exc)) from None
    out.write_text(json.dumps(figures, indent=2))
    typer.echo(table)
    typer.echo(f"figures written to {out}")


def _service(verb: str) -> Any:
    """The search service's ``verb`` (serve, bench), plugged in through the ``kb.service``
    entry points: kb's command line reaches the service without kb importing it."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="kb.service", name=verb):
        return ep.load()
    raise KBError(
        f"'kb {verb}' needs the search service, which is not installed; run 'make install' (pip install -e .)"
    )


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("KB_LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s"
    )
    app()


if __name__ == "__main__":
    main()
