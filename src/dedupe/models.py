"""Plain frozen dataclasses passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    """Exit status of the ``dedupe`` command (documented in docs/cli.md)."""

    OK = 0
    CHECK_FAILED = 1  # only with --check: duplicates were found
    USAGE = 2  # usage or input trouble
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM


@dataclass(frozen=True)
class Document:
    """One input document.

    Attributes:
        id: The id shown to the user: a path as the user wrote it, a JSONL id, or ``FILE:LINE``.
        text: The raw text as read (before cleaning).
        source: The file the document came from (``-`` for stdin).
        line: 1-based line number for JSONL records, else ``None``.
        index: Position in input order (0-based), used for ``--keep first`` and stable ordering.
        record: For JSONL input, the raw line as read, so it can be written back unchanged.
    """

    id: str
    text: str
    source: str
    index: int
    line: int | None = None
    record: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Skipped:
    """An input left out, with the reason (reported in the summary and JSON stats)."""

    path: str
    reason: str


@dataclass(frozen=True)
class RemovedLine:
    """A line the cleaner removed: its 1-based line number, text and the rule that removed it."""

    line: int
    text: str
    rule: str


@dataclass(frozen=True)
class CleanResult:
    """The outcome of cleaning one text.

    Attributes:
        text: The cleaned text: kept lines, unchanged and in order.
        removed: Every removed line, with the name of the rule that removed it.
        kept_lines: Number of non-blank lines kept.
        removed_lines: Number of lines removed.
    """

    text: str
    removed: tuple[RemovedLine, ...]
    kept_lines: int
    removed_lines: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "removed": [{"line": r.line, "text": r.text, "rule": r.rule} for r in self.removed],
            "kept_lines": self.kept_lines,
            "removed_lines": self.removed_lines,
        }
