"""Readable output with rich. Results go to stdout, summaries to stderr."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from dedupe.models import ScanResult

KIND_STYLE = {"representative": "bold green", "exact": "cyan", "near": "yellow", "paraphrase": "magenta"}


def render_scan(result: ScanResult, console: Console) -> None:
    """Print each cluster: a header with the representative and why, then one line per member."""
    if not result.clusters:
        console.print("No duplicates found.")
        return
    for c in result.clusters:
        head = Text()
        head.append(f"Cluster {c.id}", style="bold")
        head.append(f"  {len(c.members)} documents; keep {c.representative}: {c.reason}")
        console.print(head)
        width = max(len(m.id) for m in c.members)
        for m in c.members:
            line = Text("  * " if m.representative else "    ")
            line.append(m.id.ljust(width))
            line.append("  ")
            line.append(m.kind.ljust(14), style=KIND_STYLE.get(m.kind, ""))
            if not m.representative:
                line.append(f" {m.similarity:.2f} {m.measure}")
            line.append(f"  {m.length} chars", style="dim")
            console.print(line)
        console.print()


def summary_line(result: ScanResult) -> str:
    """One line: documents, clusters, duplicates, skipped inputs, warnings, time."""
    s = result.stats
    parts = [
        f"{s['documents']} documents",
        f"{s['clusters']} clusters",
        f"{s['duplicates']} duplicates",
        f"{s['candidate_pairs']} candidate pairs",
    ]
    if s["skipped"]:
        parts.append(f"{len(s['skipped'])} skipped")
    if s.get("warnings"):
        n = len(s["warnings"])
        parts.append(f"{n} warning{'s' if n != 1 else ''}")
    return "dedupe: " + ", ".join(parts) + f" in {s['seconds']:.2f}s"
