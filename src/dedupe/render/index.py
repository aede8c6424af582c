"""Output of ``dedupe index``: query results (human, JSON, JSONL) and index stats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.text import Text

from dedupe import __version__
from dedupe.models import QueryDocument, QueryResult
from dedupe.render.human import KIND_STYLE, counted
from dedupe.render.json import cluster_to_dict, dumps


def query_document_to_dict(q: QueryDocument) -> dict[str, Any]:
    """One queried document with its matches (docs/index.md)."""
    return {
        "id": q.id,
        "source": q.source,
        "length": q.length,
        "matches": [
            {"id": m.id, "kind": m.kind, "similarity": m.similarity, "measure": m.measure, "length": m.length,
             "source": m.source, "from_run": m.from_run}
            for m in q.matches
        ],
    }


def query_to_dict(result: QueryResult, settings: dict[str, Any]) -> dict[str, Any]:
    """The whole ``index query --format json`` object: scan's shape plus ``documents``."""
    return {
        "version": __version__,
        "settings": settings,
        "clusters": [cluster_to_dict(c) for c in result.clusters],
        "documents": [query_document_to_dict(q) for q in result.queries],
        "stats": result.stats,
    }


def iter_query_jsonl(result: QueryResult) -> Iterator[str]:
    """One line per queried document, with its matches (``index query --format jsonl``)."""
    for q in result.queries:
        yield dumps(query_document_to_dict(q))


def iter_query_emit(result: QueryResult, emit: str, fmt: str) -> Iterator[str]:
    """Queried documents without a match (``unique``) or with one (``duplicates``), in input order.

    ``jsonl`` writes JSONL input records back unchanged and other documents as ``{"id": ...}``.
    """
    matched = {q.id for q in result.queries if q.matches}
    for doc in result.documents:
        if (doc.id in matched) != (emit == "duplicates"):
            continue
        if fmt == "jsonl":
            yield doc.record if doc.record is not None else dumps({"id": doc.id})
        else:
            yield doc.id


def render_query(result: QueryResult, console: Console) -> None:
    """Each queried document that has matches, then its matches, best first."""
    hits = [q for q in result.queries if q.matches]
    if not hits:
        console.print("No matches in the index.")
        return
    for q in hits:
        head = Text()
        head.append(q.id, style="bold")
        head.append(f"  {len(q.matches)} match{'es' if len(q.matches) > 1 else ''}  ")
        head.append(f"{q.length} chars", style="dim")
        console.print(head)
        width = max(len(m.id) for m in q.matches)
        for m in q.matches:
            line = Text("    ")
            line.append(m.id.ljust(width))
            line.append("  ")
            line.append(m.kind.ljust(11), style=KIND_STYLE.get(m.kind, ""))
            line.append(f" {m.similarity:.2f} {m.measure}")
            line.append(f"  {m.length} chars", style="dim")
            if m.from_run:
                line.append("  (this run)", style="dim")
            console.print(line)
        console.print()


def query_summary_line(result: QueryResult) -> str:
    s = result.stats
    parts = [f"{counted(s['documents'], 'document')} queried against {s['index_documents']}",
             f"{s['matched']} with matches", f"{s['new']} new"]
    if s["added"]:
        parts.append(f"{s['added']} added")
    if s["skipped"]:
        parts.append(f"{len(s['skipped'])} skipped")
    return "dedupe: " + ", ".join(parts) + f" in {s['seconds']:.2f}s"


def add_summary_line(stats: dict[str, Any], location: str) -> str:
    parts = [f"{counted(stats['documents'], 'document')} read", f"{stats['added']} added", f"{stats['updated']} updated",
             f"{stats['unchanged']} unchanged"]
    if stats["skipped"]:
        parts.append(f"{len(stats['skipped'])} skipped")
    return (f"dedupe: {', '.join(parts)}; {location} holds {counted(stats['index_documents'], 'document')}"
            f" ({stats['seconds']:.2f}s)")


def render_stats(info: dict[str, Any], console: Console) -> None:
    """``index stats`` for people."""
    settings = info["settings"] or {}
    rows = [("index", f"{info['location']} ({info['backend']})"), ("documents", str(info["documents"])),
            ("characters", str(info["total_length"])), *((k.replace("_", " "), str(v)) for k, v in info["size"].items()),
            ("settings", ", ".join(f"{k}={v}" for k, v in sorted(settings.items())))]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(f"{label:<{width}}  {value}", markup=False)
