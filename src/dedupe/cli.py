"""Command line: parse options, build configs, call the core, render, return an exit status."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

from dedupe import __version__
from dedupe.config import CleanConfig, ScanConfig, ShingleSpec
from dedupe.errors import DedupeError
from dedupe.io import (
    JSONL_SUFFIXES,
    ReadOptions,
    iter_documents,
    no_documents,
    safe_output_path,
    write_atomic,
)
from dedupe.models import Document, ExitStatus, Skipped

_DEFAULT = ScanConfig()


class OutputClosed(Exception):
    """The reader of stdout went away (``| head``): stop quietly."""


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    swallows it while ``finally`` blocks (temporary files) still run."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


# rich is imported when a console is first made: ``--quiet`` runs with machine output need none
# (its import takes about 40 ms).


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    from rich.console import Console

    class _StdoutConsole(Console):
        """stdout console: a closed pipe ends the command quietly with status 0 (rich would exit 1)."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise OutputClosed

    return _StdoutConsole(highlight=False, soft_wrap=True)


class DedupeGroup(click.Group):
    """Maps every failure to ``dedupe: error: ...`` and a documented exit status."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        debug = "--debug" in sys.argv[1:] or "--debug" in (kwargs.get("args") or args[0] if args else [])
        kwargs["standalone_mode"] = False
        _escape_unencodable()
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(ExitStatus.USAGE)
        except click.UsageError as exc:
            click.echo(f"dedupe: error: {exc.format_message()}", err=True)
            if exc.ctx is not None:
                click.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
            sys.exit(ExitStatus.USAGE)
        except click.ClickException as exc:
            click.echo(f"dedupe: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except DedupeError as exc:
            if debug:
                raise
            click.echo(f"dedupe: error: {exc}", err=True)
            sys.exit(ExitStatus.USAGE)
        except (KeyboardInterrupt, click.Abort):
            click.echo("dedupe: interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
        except Terminated:
            click.echo("dedupe: terminated", err=True)
            sys.exit(ExitStatus.TERMINATED)
        except (BrokenPipeError, OutputClosed):
            _silence_stdout()
            sys.exit(ExitStatus.OK)
        except Exception as exc:
            if debug:
                raise
            click.echo(f"dedupe: error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
            sys.exit(ExitStatus.INTERNAL)
        sys.exit(int(rv or 0))


def _escape_unencodable() -> None:
    """Write characters the output encoding cannot carry as backslash escapes instead of failing.

    JSONL input may hold lone surrogates (``"\\ud800"`` is valid JSON): in JSON output the escape
    reads back as the same string; on a terminal in a narrow encoding the text stays legible.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so that the interpreter's flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=DedupeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dedupe")
def cli() -> None:
    """Find duplicate and rewritten news articles, and strip scraping boilerplate."""


def _read_options(
    text_field: str, id_field: str, encoding: str, strict: bool, html_field: str, max_bytes: int
) -> ReadOptions:
    return ReadOptions(text_field=text_field, id_field=id_field, encoding=encoding, strict=strict,
                       html_field=html_field, max_bytes=max_bytes)


class ByteSize(click.ParamType):
    """A size in bytes: ``1000000``, ``512K``, ``256M``, ``2G`` (binary multiples)."""

    name = "size"
    _UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        number, unit = (text[:-1], text[-1]) if text[-1:] in self._UNITS else (text, "")
        try:
            size = int(float(number) * self._UNITS[unit])
        except ValueError:
            self.fail(f"{value!r} is not a size (e.g. 1000000, 512K, 256M, 2G)", param, ctx)
        if size < 1:
            self.fail(f"{value!r} must be at least 1 byte", param, ctx)
        return size


def _clean_config(rules: str | None) -> CleanConfig | None:
    if rules is None:
        return None
    from dedupe.clean import load_rules_file

    return load_rules_file(rules)


def _warn_skipped(skipped: list[Skipped], quiet: bool) -> None:
    if quiet:
        return
    err = _stderr()
    for s in skipped:
        what = "skipped " if s.skipped else ""
        err.print(f"dedupe: warning: {what}{s.path}: {s.reason}", markup=False)


def _emit(lines: Any) -> None:
    out = sys.stdout
    try:
        for line in lines:
            out.write(line + "\n")
        out.flush()
    except BrokenPipeError as exc:
        raise OutputClosed from exc


_input_options = [
    click.option("--text-field", default="text", show_default=True, help="JSONL field holding the text."),
    click.option("--id-field", default="id", show_default=True, help="JSONL field holding the id (else FILE:LINE)."),
    click.option("--html-field", default="html", show_default=True,
                 help="JSONL field holding an HTML page (used when a record has no text field)."),
    click.option("--encoding", default="utf-8", show_default=True, help="Encoding of input files."),
    click.option("--strict", is_flag=True, help="Malformed JSONL lines are fatal instead of skipped."),
    click.option("--max-bytes", type=ByteSize(), default="256M", show_default=True,
                 help="Skip (with a warning) text files and JSONL lines larger than this."),
    click.option("--rules", type=click.Path(dir_okay=False), help="TOML file of cleaning rules (docs/clean.md)."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar, warnings or summary on stderr."),
    click.option("--debug", is_flag=True, help="Show tracebacks."),
]


def input_options(f: Any) -> Any:
    for opt in reversed(_input_options):
        f = opt(f)
    return f


@cli.command(short_help="Find clusters of exact, near and reworded duplicates.")
@click.argument("paths", nargs=-1)
@click.option("--index", "index_location", metavar="LOCATION",
              help="Cluster every document of this index (file path or redis://host:port/db) instead of PATHS.")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "jsonl"]), default="human", show_default=True,
              help="Output format.")
@click.option("--emit", type=click.Choice(["clusters", "unique", "duplicates"]), default="clusters",
              show_default=True,
              help="What to print: the clusters, the documents to keep, or the documents to drop.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT.threshold, show_default=True,
              help="near: shingle Jaccard at least this.")
@click.option("--containment", type=click.FloatRange(0, 1), default=_DEFAULT.containment, show_default=True,
              help="near: share of the shorter text's shingles found in the longer one.")
@click.option("--paraphrase/--no-paraphrase", default=_DEFAULT.paraphrase, show_default=True,
              help="Look for rewrites (the same story reworded).")
@click.option("--paraphrase-threshold", type=click.FloatRange(0, 1), default=_DEFAULT.paraphrase_threshold,
              show_default=True, help="paraphrase: share of one text's content aligned with rewordings.")
@click.option("--shingle", metavar="KIND:N", default=str(_DEFAULT.shingle), show_default=True, help="word:N or char:N shingles.")
@click.option("--num-perm", type=click.IntRange(16, 1024), default=_DEFAULT.num_perm, show_default=True,
              help="MinHash permutations.")
@click.option("--seed", type=click.IntRange(0), default=_DEFAULT.seed, show_default=True, help="MinHash seed.")
@click.option("--keep", type=click.Choice(["longest", "first", "shortest"]), default=_DEFAULT.keep,
              show_default=True, help="Which document of a cluster to keep.")
@click.option("--no-clean", is_flag=True, help="Fingerprint the raw text, without removing boilerplate.")
@click.option("--check", is_flag=True, help="Exit with status 1 when any duplicate is found.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Under each cluster, a compact diff of every member against the representative.")
@click.option("--jobs", "-j", type=click.IntRange(0), default=0, show_default=True,
              help="Worker processes; 0 uses every core. Results do not depend on it.")
@input_options
def scan(
    paths: tuple[str, ...],
    index_location: str | None,
    fmt: str,
    emit: str,
    threshold: float,
    containment: float,
    paraphrase: bool,
    paraphrase_threshold: float,
    shingle: str,
    num_perm: int,
    seed: int,
    keep: str,
    no_clean: bool,
    check: bool,
    show_diff: bool,
    jobs: int,
    text_field: str,
    id_field: str,
    html_field: str,
    encoding: str,
    strict: bool,
    max_bytes: int,
    rules: str | None,
    quiet: bool,
    debug: bool,
) -> int:
    """Find clusters of duplicates (exact, near and paraphrase) among PATHS.

    PATHS are files, directories (searched recursively for .txt, .md, .text, .html, .htm, .jsonl and
    .ndjson), or - for stdin. The article text of HTML pages is extracted first. With --index LOCATION, the
    documents of that index instead (docs/index.md).
    """
    from dedupe.pipeline import collector_paused, reuse_freed_memory, scan_paths, settings_summary
    from dedupe.render import json as render_json

    if index_location is not None and paths:
        raise click.UsageError("give PATHS or --index, not both")
    if index_location is None and not paths:
        raise click.UsageError("Missing argument 'PATHS...' (files, directories, - for stdin), or --index LOCATION")
    if index_location is not None:
        given = [name for name, value, default in (("--shingle", shingle, str(_DEFAULT.shingle)),
                                                    ("--num-perm", num_perm, _DEFAULT.num_perm),
                                                    ("--seed", seed, _DEFAULT.seed), ("--no-clean", no_clean, False),
                                                    ("--rules", rules, None)) if value != default]
        if given:
            raise click.UsageError(f"{', '.join(given)} cannot be used with --index: the index's own settings apply")

    config = ScanConfig(
        threshold=threshold,
        containment=containment,
        paraphrase=paraphrase,
        paraphrase_threshold=paraphrase_threshold,
        candidate_threshold=min(_DEFAULT.candidate_threshold, threshold),
        shingle=ShingleSpec.parse(shingle),
        num_perm=num_perm,
        seed=seed,
        keep=keep,
        clean=not no_clean,
    )
    clean_config = _clean_config(rules)
    if index_location is not None:
        from dedupe.index import describe_index, scan_index
        from dedupe.index.base import config_from_settings

        location = index_location
        result = _run_with_progress(lambda progress: scan_index(location, config, progress), quiet)
        config = config_from_settings(describe_index(location)["settings"], config)
    else:
        reuse_freed_memory()
        # JSONL records are kept only to be written back (--emit unique/duplicates --format jsonl).
        read_options = dataclasses.replace(_read_options(text_field, id_field, encoding, strict, html_field, max_bytes),
                                           keep_records=emit != "clusters" and fmt == "jsonl")
        result = _run_with_progress(
            lambda progress: scan_paths(paths, config, clean_config, read_options, progress, jobs), quiet
        )
    # The collector off while the output is made: it would walk what the scan leaves (the documents'
    # ids, the clusters) again each time the output's objects pile up (collector_paused).
    with collector_paused():
        _warn_skipped(list(result.skipped), quiet)
        diffs = None
        if show_diff and emit == "clusters" and index_location is None:
            from dedupe.diff import cluster_diffs

            diffs = cluster_diffs(result.clusters, result.documents, config, clean_config)
        if emit != "clusters":
            if fmt == "json":
                ids = list(render_json.iter_emit_lines(result, emit, "human"))
                _emit([render_json.dumps({"version": __version__, emit: ids, "stats": result.stats})])
            else:
                _emit(render_json.iter_emit_lines(result, emit, fmt))
        elif fmt == "json":
            _emit([render_json.dumps_indented(render_json.scan_to_dict(result, settings_summary(config), diffs))])
        elif fmt == "jsonl":
            _emit(render_json.iter_scan_jsonl(result, diffs))
        else:
            from dedupe.render.human import render_scan

            render_scan(result, _stdout(), diffs)
        if not quiet:
            from dedupe.render.human import summary_line

            _stderr().print(summary_line(result), markup=False)
    if check and result.clusters:
        return ExitStatus.CHECK_FAILED
    return ExitStatus.OK


def _run_with_progress(job: Any, quiet: bool) -> Any:
    """Run ``job(progress)`` with a rich progress bar on stderr when it is a terminal."""
    if quiet:
        return job(None)
    err = _stderr()
    if not err.is_terminal:
        return job(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return job(progress)


@cli.command(short_help="Remove scraping boilerplate, keeping every sentence.")
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the cleaned article; json: text plus every removed line and its rule.")
@click.option("--explain", is_flag=True, help="Print every removed line and the rule that removed it to stderr.")
@click.option("--out-dir", type=click.Path(file_okay=False), help="Write cleaned files here, mirroring the input tree.")
@click.option("--in-place", is_flag=True, help="Overwrite the input files (atomically).")
@click.option("--list-rules", is_flag=True, help="List the cleaning rules and exit.")
@input_options
def clean(
    paths: tuple[str, ...],
    fmt: str,
    explain: bool,
    out_dir: str | None,
    in_place: bool,
    list_rules: bool,
    text_field: str,
    id_field: str,
    html_field: str,
    encoding: str,
    strict: bool,
    max_bytes: int,
    rules: str | None,
    quiet: bool,
    debug: bool,
) -> int:
    """Remove ads, share, newsletter, caption, navigation and promo lines from articles in PATHS.

    With one file (or - for stdin) the cleaned text goes to stdout. Kept lines are printed unchanged and in
    order. Many files need --out-dir (or --in-place). HTML pages give their article text (headline first);
    --format json adds the page's title, author and date.
    """
    from dedupe.clean import RULES
    from dedupe.pipeline import clean_documents

    if list_rules:
        _emit(f"{r.name:<22} {r.description}" for r in RULES)
        return ExitStatus.OK
    if not paths:
        raise click.UsageError("missing PATH (a file, a directory, or - for stdin)")
    if out_dir and in_place:
        raise click.UsageError("--out-dir and --in-place exclude each other")
    if fmt == "json" and (out_dir or in_place):
        raise click.UsageError("--format json prints to stdout: it cannot be used with --out-dir or --in-place")
    clean_config = _clean_config(rules)
    skipped: list[Skipped] = []
    docs = list(iter_documents(paths, _read_options(text_field, id_field, encoding, strict, html_field, max_bytes), skipped.append))
    _warn_skipped(skipped, quiet)
    if not docs:
        raise no_documents("clean", skipped)
    results = clean_documents(docs, clean_config)
    if explain:
        err = _stderr()
        for doc, res in zip(docs, results):
            for r in res.removed:
                err.print(f"{doc.id}:{r.line}: [{r.rule}] {r.text}", markup=False)
    jsonl_sources = {d.source for d in docs if d.record is not None}
    if out_dir is None and not in_place:
        if len({d.source for d in docs}) > 1:
            raise click.UsageError("several inputs: use --out-dir DIR (or --in-place) to write them")
        if jsonl_sources:
            _emit(_jsonl_records(docs, results, text_field))
        elif fmt == "json":
            from dedupe.render.json import clean_to_dict

            _emit([json.dumps(clean_to_dict(docs[0], results[0]), ensure_ascii=False)])
        else:
            _emit_text(results[0].text)
    else:
        _write_outputs(paths, docs, results, text_field, Path(out_dir) if out_dir else None)
    if skipped and not quiet:
        _stderr().print(_clean_summary(len(docs), skipped), markup=False)
    return ExitStatus.OK


def _clean_summary(n_docs: int, skipped: list[Skipped]) -> str:
    """The line closing a clean that left inputs out or warned: counts, so nothing goes unnoticed."""
    from dedupe.render.human import counted

    n_skipped = sum(1 for s in skipped if s.skipped)
    n_warnings = len(skipped) - n_skipped
    parts = [f"{counted(n_docs, 'document')} cleaned"]
    if n_skipped:
        parts.append(f"{n_skipped} skipped")
    if n_warnings:
        parts.append(counted(n_warnings, "warning"))
    return "dedupe: " + ", ".join(parts)


def _emit_text(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError as exc:
        raise OutputClosed from exc


def _jsonl_records(docs: list[Document], results: list[Any], text_field: str) -> list[str]:
    lines = []
    for doc, res in zip(docs, results):
        record = json.loads(doc.record or "{}")
        record[text_field] = res.text
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def _write_outputs(
    paths: tuple[str, ...], docs: list[Document], results: list[Any], text_field: str, out_dir: Path | None
) -> None:
    """Write each source once: JSONL files as records, text files as text; atomically, and only
    once every target is known to be writable as asked (a refusal writes nothing)."""
    if "-" in paths:
        raise click.UsageError("stdin (-) cannot be written to --out-dir or --in-place")
    html = sorted({d.source for d in docs if d.page is not None and d.record is None})
    if out_dir is None and html:
        raise click.UsageError(f"--in-place would overwrite the HTML page {html[0]} with text; use --out-dir")
    roots = [Path(p) for p in paths]
    if out_dir is not None:
        resolved_out = out_dir.resolve()
        for root in roots:
            r = root.resolve()
            if resolved_out == r or r in resolved_out.parents:
                raise click.UsageError(f"--out-dir {out_dir} is inside the input {root}; use --in-place to overwrite")
    by_source: dict[str, list[int]] = {}
    for k, d in enumerate(docs):
        by_source.setdefault(d.source, []).append(k)
    targets: dict[Path, str] = {}
    writes: list[tuple[Path, str]] = []
    for source, ks in by_source.items():
        is_jsonl = Path(source).suffix.lower() in JSONL_SUFFIXES
        body = (
            "\n".join(_jsonl_records([docs[k] for k in ks], [results[k] for k in ks], text_field)) + "\n"
            if is_jsonl
            else results[ks[0]].text
        )
        if out_dir is None:
            target = Path(source)
        else:
            relative = _relative_to_inputs(source, roots)
            if docs[ks[0]].page is not None and docs[ks[0]].record is None:
                relative = str(Path(relative).with_suffix(".txt"))  # an HTML page's article is text
            target = safe_output_path(out_dir, relative)
            if target.resolve() in {Path(d.source).resolve() for d in docs}:
                raise DedupeError(f"refusing to overwrite input {source}")
            if target in targets:
                raise DedupeError(f"{source} and {targets[target]} would both be written to {target}")
            targets[target] = source
        writes.append((target, body))
    for target, body in writes:
        write_atomic(target, body)


def _relative_to_inputs(source: str, roots: list[Path]) -> str:
    path = Path(source)
    for root in roots:
        if root.is_dir():
            try:
                return path.relative_to(root).as_posix()
            except ValueError:
                continue
    return path.name


@cli.command(short_help="Show how two articles correspond, sentence by sentence.")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="Output format (json: docs/diff.md).")
@click.option("--unified", is_flag=True, help="One column (- A, + B) instead of side by side.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT.threshold, show_default=True,
              help="near: shingle Jaccard at least this.")
@click.option("--paraphrase-threshold", type=click.FloatRange(0, 1), default=_DEFAULT.paraphrase_threshold,
              show_default=True, help="paraphrase: share of one text's content aligned with rewordings.")
@click.option("--no-clean", is_flag=True, help="Diff the raw text, boilerplate included.")
@click.option("--check", is_flag=True, help="Exit with status 1 when the pair is a duplicate (verdict not different).")
@input_options
def diff(
    a: str,
    b: str,
    fmt: str,
    unified: bool,
    threshold: float,
    paraphrase_threshold: float,
    no_clean: bool,
    check: bool,
    text_field: str,
    id_field: str,
    html_field: str,
    encoding: str,
    strict: bool,
    max_bytes: int,
    rules: str | None,
    quiet: bool,
    debug: bool,
) -> int:
    """Show what documents A and B share, sentence by sentence, and the verdict scan gives them.

    A and B are files, - for stdin (one of them), or FILE.jsonl#ID for the record with that id
    (or, failing that, on that line) in a JSONL file.
    """
    from dedupe.diff import diff_documents, read_document

    if a == "-" and b == "-":
        raise click.UsageError("only one of A and B can be - (stdin)")
    config = ScanConfig(
        threshold=threshold,
        paraphrase_threshold=paraphrase_threshold,
        candidate_threshold=min(_DEFAULT.candidate_threshold, threshold),
        clean=not no_clean,
    )
    options = _read_options(text_field, id_field, encoding, strict, html_field, max_bytes)
    skipped: list[Skipped] = []
    doc_a = read_document(a, options, skipped.append)
    doc_b = read_document(b, options, skipped.append)
    _warn_skipped(skipped, quiet)
    result = diff_documents(doc_a, doc_b, config, _clean_config(rules))
    if fmt == "json":
        from dedupe.render.json import dumps_indented

        _emit([dumps_indented(result.to_dict())])
    else:
        from dedupe.render.diff import render_diff

        render_diff(result, _stdout(), unified=unified)
    if check and result.verdict != "different":
        return ExitStatus.CHECK_FAILED
    return ExitStatus.OK


# ---------------------------------------------------------------------------------------------
# dedupe index ...
# ---------------------------------------------------------------------------------------------
_index_option = click.option(
    "--index", "location", metavar="LOCATION", required=True, envvar="DEDUPE_INDEX", show_envvar=True,
    help="The index: a file path (SQLite) or redis://host:port/db[?prefix=NAME].")
_batch_option = click.option("--batch-size", type=click.IntRange(1), default=1000, show_default=True,
                             help="Documents per transaction (and per cleaning batch).")


@cli.group(short_help="Keep an index of articles seen and check new ones against it.")
def index() -> None:
    """A persistent index: check new articles against everything added before (docs/index.md)."""


@index.command("add", short_help="Add (or replace) documents, creating the index if needed.")
@click.argument("paths", nargs=-1, required=True)
@_index_option
@click.option("--shingle", metavar="KIND:N", help=f"word:N or char:N shingles [new index: {_DEFAULT.shingle}]")
@click.option("--num-perm", type=click.IntRange(16, 1024), help=f"MinHash permutations [new index: {_DEFAULT.num_perm}]")
@click.option("--seed", type=click.IntRange(0), help=f"MinHash seed [new index: {_DEFAULT.seed}]")
@click.option("--no-clean", is_flag=True, default=None, help="Fingerprint the raw text (recorded in the index).")
@_batch_option
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="json: the counts as one object on stdout.")
@input_options
def index_add(
    paths: tuple[str, ...], location: str, shingle: str | None, num_perm: int | None, seed: int | None,
    no_clean: bool | None, batch_size: int, fmt: str, text_field: str, id_field: str, html_field: str,
    max_bytes: int, encoding: str, strict: bool, rules: str | None, quiet: bool, debug: bool,
) -> int:
    """Add the documents of PATHS to the index (a document with an id already there replaces it).

    The fingerprint settings (--shingle, --num-perm, --seed, --no-clean, --rules) are recorded when the index is
    created; later commands use them and refuse different ones.
    """
    from dedupe.index import add_paths
    from dedupe.render.index import add_summary_line

    overrides: dict[str, Any] = {}
    if shingle is not None:
        overrides["shingle"] = ShingleSpec.parse(shingle)
    if num_perm is not None:
        overrides["num_perm"] = num_perm
    if seed is not None:
        overrides["seed"] = seed
    if no_clean:
        overrides["clean"] = False
    options = _read_options(text_field, id_field, encoding, strict, html_field, max_bytes)
    clean_config = _clean_config(rules)
    stats = _run_with_progress(
        lambda progress: add_paths(location, paths, ScanConfig(), overrides, clean_config, options, batch_size,
                                   progress),
        quiet,
    )
    if not quiet:
        for item in stats["warnings"] + stats["skipped"]:
            _stderr().print(f"dedupe: warning: {item['path']}: {item['reason']}", markup=False)
    if fmt == "json":
        _emit([json.dumps(stats, ensure_ascii=False)])
    if not quiet:
        _stderr().print(add_summary_line(stats, location), markup=False)
    return ExitStatus.OK


@index.command("query", short_help="Report the matches in the index of each document.")
@click.argument("paths", nargs=-1, required=True)
@_index_option
@click.option("--add", "add", is_flag=True,
              help="Add the documents after matching them (each is also matched against those of this run before it).")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "jsonl"]), default="human", show_default=True,
              help="Output format (docs/index.md).")
@click.option("--emit", type=click.Choice(["matches", "unique", "duplicates"]), default="matches", show_default=True,
              help="The matches; or the queried documents without a match (new) or with one.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT.threshold, show_default=True,
              help="near: shingle Jaccard at least this.")
@click.option("--containment", type=click.FloatRange(0, 1), default=_DEFAULT.containment, show_default=True,
              help="near: share of the shorter text's shingles found in the longer one.")
@click.option("--paraphrase/--no-paraphrase", default=_DEFAULT.paraphrase, show_default=True,
              help="Look for rewrites (the same story reworded).")
@click.option("--paraphrase-threshold", type=click.FloatRange(0, 1), default=_DEFAULT.paraphrase_threshold,
              show_default=True, help="paraphrase: share of one text's content aligned with rewordings.")
@click.option("--keep", type=click.Choice(["longest", "first", "shortest"]), default=_DEFAULT.keep,
              show_default=True, help="Representative of a cluster (first: the indexed document).")
@click.option("--check", is_flag=True, help="Exit with status 1 when any queried document has a match.")
@_batch_option
@input_options
def index_query(
    paths: tuple[str, ...], location: str, add: bool, fmt: str, emit: str, threshold: float, containment: float,
    paraphrase: bool, paraphrase_threshold: float, keep: str, check: bool, batch_size: int, text_field: str,
    id_field: str, html_field: str, max_bytes: int, encoding: str, strict: bool, rules: str | None, quiet: bool,
    debug: bool,
) -> int:
    """Report, for each document of PATHS, its matches in the index (kind and score, as scan decides them)."""
    from dedupe.index import query_paths
    from dedupe.index.base import config_from_settings
    from dedupe.pipeline import settings_summary
    from dedupe.render import index as render_index

    config = ScanConfig(threshold=threshold, containment=containment, paraphrase=paraphrase,
                        paraphrase_threshold=paraphrase_threshold,
                        candidate_threshold=min(_DEFAULT.candidate_threshold, threshold), keep=keep)
    options = _read_options(text_field, id_field, encoding, strict, html_field, max_bytes)
    result = _run_with_progress(
        lambda progress: query_paths(location, paths, config, _clean_config(rules), options, add, batch_size,
                                     progress),
        quiet,
    )
    _warn_skipped(list(result.skipped), quiet)
    if emit != "matches":
        if fmt == "json":
            ids = list(render_index.iter_query_emit(result, emit, "human"))
            _emit([json.dumps({"version": __version__, emit: ids, "stats": result.stats}, ensure_ascii=False)])
        else:
            _emit(render_index.iter_query_emit(result, emit, fmt))
    elif fmt == "json":
        from dedupe.index import describe_index

        settings = settings_summary(config_from_settings(describe_index(location)["settings"], config))
        from dedupe.render.json import dumps_indented

        _emit([dumps_indented(render_index.query_to_dict(result, settings))])
    elif fmt == "jsonl":
        _emit(render_index.iter_query_jsonl(result))
    else:
        render_index.render_query(result, _stdout())
    if not quiet:
        _stderr().print(render_index.query_summary_line(result), markup=False)
    if check and result.stats["matched"]:
        return ExitStatus.CHECK_FAILED
    return ExitStatus.OK


@index.command("remove", short_help="Remove documents by id.")
@click.argument("ids", nargs=-1, required=True)
@_index_option
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def index_remove(ids: tuple[str, ...], location: str, quiet: bool, debug: bool) -> int:
    """Remove the documents with these IDS from the index (unknown ids are reported, not fatal)."""
    from dedupe.index import remove_ids

    removed = remove_ids(location, list(ids))
    if not quiet:
        from dedupe.render.human import counted

        err = _stderr()
        for i in sorted(set(ids) - set(removed)):
            err.print(f"dedupe: warning: not in the index: {i}", markup=False)
        err.print(f"dedupe: removed {len(removed)} of the {counted(len(set(ids)), 'id')} given", markup=False)
    _emit(removed)
    return ExitStatus.OK


@index.command("stats")
@_index_option
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="Output format.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def index_stats(location: str, fmt: str, debug: bool) -> int:
    """The index's settings, size and counts."""
    from dedupe.index import describe_index

    info = describe_index(location)
    if fmt == "json":
        from dedupe.render.json import dumps_indented

        _emit([dumps_indented(info)])
    else:
        from dedupe.render.index import render_stats

        render_stats(info, _stdout())
    return ExitStatus.OK


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    # dedupe's parallel work is in worker processes; NumPy's BLAS thread pool (which scan never needs)
    # would otherwise wake and spin beside them: 3-6% of a core in a process that only imported NumPy.
    # Set before NumPy is first imported, and left to the user when set.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        cli.main(prog_name="dedupe")
    finally:
        _finish()


def _finish() -> None:
    """The command is over and its status chosen; only the last buffered output remains.

    A Ctrl-C or SIGTERM landing while that output is flushed (a reader that stopped reading) ends the
    process at once with the signal's status, the output being incomplete; once it is flushed, late
    signals are ignored: they would only replace the command's status while the interpreter shuts
    down, or raise with nothing left to catch them.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(ExitStatus.INTERRUPTED))
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(ExitStatus.TERMINATED))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: the interpreter's flush is quiet too
            stream.flush()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
