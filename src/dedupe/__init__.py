"""dedupe: find duplicate and rewritten news articles and strip scraping boilerplate.

The core API never prints or exits; errors are :class:`DedupeError` subclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from dedupe.config import CleanConfig, ScanConfig, ShingleSpec  # noqa: E402
from dedupe.errors import ConfigError, DedupeError, InputError  # noqa: E402
from dedupe.models import CleanResult, Cluster, Document, Match, Member, ScanResult  # noqa: E402

__all__ = [
    "CleanConfig",
    "CleanResult",
    "Cluster",
    "ConfigError",
    "DedupeError",
    "Document",
    "InputError",
    "Match",
    "Member",
    "ScanConfig",
    "ScanResult",
    "ShingleSpec",
    "__version__",
]
