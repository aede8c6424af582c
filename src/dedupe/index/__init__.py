"""Persistent index: check new documents against everything added before.

Backends: :class:`~dedupe.index.sqlite.SQLiteIndex` (a file) and
:class:`~dedupe.index.redis.RedisIndex` (``redis://host:port/db``). The operations are in
:mod:`dedupe.index.pipeline`; docs/index.md describes the whole feature.
"""

from __future__ import annotations

from dedupe.index.base import (
    IndexBackend,
    IndexConfigError,
    IndexMissingError,
    IndexStoreError,
    StoredDocument,
)
from dedupe.index.pipeline import (
    add_paths,
    describe_index,
    open_index,
    query_paths,
    remove_ids,
    scan_index,
)

__all__ = [
    "IndexBackend",
    "IndexConfigError",
    "IndexMissingError",
    "IndexStoreError",
    "StoredDocument",
    "add_paths",
    "describe_index",
    "open_index",
    "query_paths",
    "remove_ids",
    "scan_index",
]
