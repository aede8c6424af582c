"""Readable output with rich. Results go to stdout, summaries to stderr."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from dedupe.models import ScanResult

KIND_STYLE = {"representative": "bold green", "exact": "cyan", "near": "yellow", "paraphrase": "magenta"}


def render_scan(
    result: ScanResult, console: Console, diffs: dict[tuple[int, str], dict[str, Any]] | None = None
) -> None:
    """Print each cluster: a header with the representative and why, then one line per member;
    with ``diffs`` (``scan --diff``), under each member a compact diff against the representative."""
    if not result.clusters:
        console.print("No duplicates found.")
        return
    for c in result.clusters:
        head = Text()
        head.append(f"Cluster {c.id}", style="bold")
        head.append(f"  {len(c.members)} documents; keep {c.representative}: {c.reason}")
        console.print(head)
        # Columns: id, kind, similarity and measure (blank for the representative), length.
        width = max(cell_len(m.id) for m in c.members)  # in screen cells: wide characters take two
        measure = max((len(m.measure) for m in c.members if not m.representative), default=0)
        digits = max(len(str(m.length)) for m in c.members)
        for m in c.members:
            line = Text("  * " if m.representative else "    ")
            line.append(m.id + " " * (width - cell_len(m.id)))
            line.append("  ")
            line.append(m.kind.ljust(14), style=KIND_STYLE.get(m.kind, ""))
            line.append(" " * (6 + measure) if m.representative else f" {m.similarity:.2f} {m.measure.ljust(measure)}")
            line.append(f"  {str(m.length).rjust(digits)} chars", style="dim")
            console.print(line)
            if diffs is not None and not m.representative:
                _render_compact(diffs[(c.id, m.id)], console)
        console.print()


def _render_compact(summary: dict[str, Any], console: Console) -> None:
    head = Text("      ")
    head.append(
        f"{summary['matched_sentences']}/{summary['member_sentences']} sentences matched "
        f"({summary['matched_fraction']:.0%}), {summary['identical_sentences']} identical"
        + ("; lines - from the representative, + from this document" if summary["first_changes"] else ""),
        style="dim",
    )
    console.print(head)
    for ch in summary["first_changes"]:
        status = ch["status"]
        if "a_text" in ch:
            console.print(Text(f"      - {_clip(ch['a_text'])}", style="red"), soft_wrap=True)
        if "b_text" in ch:
            console.print(Text(f"      + {_clip(ch['b_text'])}", style="green"), soft_wrap=True)
        if status == "moved":
            console.print(Text("        (moved)", style="dim"))


def _clip(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: ``1 cluster``, ``0 clusters``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_line(result: ScanResult) -> str:
    """One line: documents, clusters, duplicates, skipped inputs, warnings, time."""
    s = result.stats
    parts = [
        counted(s["documents"], "document"),
        counted(s["clusters"], "cluster"),
        counted(s["duplicates"], "duplicate"),
        counted(s["candidate_pairs"], "candidate pair"),
    ]
    if s["skipped"]:
        parts.append(f"{len(s['skipped'])} skipped")
    if s.get("warnings"):
        parts.append(counted(len(s["warnings"]), "warning"))
    return "dedupe: " + ", ".join(parts) + f" in {s['seconds']:.2f}s"
