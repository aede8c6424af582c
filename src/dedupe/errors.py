"""Exceptions raised by the dedupe core.

The core never prints or exits; the CLI turns these into ``dedupe: error: ...``
and an exit status (see :class:`dedupe.models.ExitStatus`).
"""

from __future__ import annotations


class DedupeError(Exception):
    """Base class of every error the dedupe core raises on purpose."""


class InputError(DedupeError):
    """Input that cannot be read or parsed: missing paths, bad JSONL, no documents."""


class ConfigError(DedupeError, ValueError):
    """An invalid setting: a threshold out of range, an unknown shingle kind, a bad rules file."""
