"""Machine-readable output: stable, snake_case keys, deterministic order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dedupe import __version__
from dedupe.models import CleanResult, Cluster, Document, ScanResult

STABLE_KEYS = True


def dumps(obj: Any) -> str:
    """Serialize one JSON value on one line (UTF-8 characters kept as they are)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


def clean_to_dict(doc: Document, result: CleanResult) -> dict[str, Any]:
    """The ``clean --format json`` object: the cleaned text, the removed lines and, for an HTML
    page, its ``title``, ``author`` and ``date`` (``null`` where the page does not give them)."""
    out = result.to_dict()
    if doc.page is not None:
        out.update(doc.page.to_dict())
    return out


def cluster_to_dict(cluster: Cluster, diffs: dict[tuple[int, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """A cluster as documented in docs/json.md (members carry ``diff`` with ``scan --diff``)."""
    out: dict[str, Any] = {
        "id": cluster.id,
        "representative": cluster.representative,
        "reason": cluster.reason,
        "members": [
            {
                "id": m.id,
                "similarity": m.similarity,
                "kind": m.kind,
                "measure": m.measure,
                "length": m.length,
                "representative": m.representative,
            }
            for m in cluster.members
        ],
    }
    if diffs is not None:
        for member in out["members"]:
            if not member["representative"]:
                member["diff"] = diffs[(cluster.id, member["id"])]
    return out


def scan_to_dict(
    result: ScanResult, settings: dict[str, Any], diffs: dict[tuple[int, str], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The whole ``scan --format json`` object."""
    return {
        "version": __version__,
        "settings": settings,
        "clusters": [cluster_to_dict(c, diffs) for c in result.clusters],
        "stats": result.stats,
    }


def iter_scan_jsonl(
    result: ScanResult, diffs: dict[tuple[int, str], dict[str, Any]] | None = None
) -> Iterator[str]:
    """One line per cluster (``scan --format jsonl``)."""
    for c in result.clusters:
        yield dumps(cluster_to_dict(c, diffs))


def iter_emit_lines(result: ScanResult, emit: str, fmt: str) -> Iterator[str]:
    """The documents to keep (``unique``) or drop (``duplicates``), in input order.

    ``jsonl``: JSONL input records are written back unchanged; other documents as ``{"id": ...}``.
    ``human``: one id per line.
    """
    dupes = result.duplicate_ids()
    for doc in result.documents:
        if (doc.id in dupes) != (emit == "duplicates"):
            continue
        if fmt == "jsonl":
            yield doc.record if doc.record is not None else dumps({"id": doc.id})
        else:
            yield doc.id
