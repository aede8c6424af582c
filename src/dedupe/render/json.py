"""Machine-readable output: stable, snake_case keys, deterministic order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from dedupe import __version__
from dedupe.models import CleanResult, Cluster, Document, ScanResult

STABLE_KEYS = True


def dumps(obj: Any) -> str:
    """Serialize one JSON value on one line (UTF-8 characters kept as they are)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


def _unlike_json(out: bytes) -> bool:
    """Whether orjson's output may hold a number json writes otherwise: a float below 1e-4 (json
    "1e-05", orjson "0.00001"; json "1e-07", orjson "1e-7"), which has four zeros after the point or
    a digit before "e-", or NaN or an infinity (json "NaN", orjson "null"). Strings may hold such
    text too, and a real null is written by json too: then json is used for nothing. (Plain
    searches: a regular expression took half a second on the 51 MB of a 1M scan.)"""
    if b"0.0000" in out or b"null" in out:  # (orjson writes NaN and infinities as null too)
        return True
    at = out.find(b"e-")
    while at > 0:
        if out[at - 1] in b"0123456789":
            return True
        at = out.find(b"e-", at + 2)
    return False


def dumps_indented(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, indent=2)``, byte for byte: written by orjson, which
    takes a tenth of the time (1.4 s for the clusters of a million documents), unless the value has
    what orjson writes differently (a float below 1e-4, NaN or an infinity, an integer beyond 64
    bits, a lone surrogate, a key that is not a string) or a null, which json writes."""
    try:
        out = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(obj, ensure_ascii=False, indent=2)
    if _unlike_json(out):
        return json.dumps(obj, ensure_ascii=False, indent=2)
    return out.decode("utf-8")


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
