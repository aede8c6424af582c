"""Plain frozen dataclasses passed between the stages of the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
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
    INTERNAL = 70  # a bug in dedupe (EX_SOFTWARE); the message asks for --debug


@dataclass(frozen=True)
class PageInfo:
    """What an HTML page says about its article (``None`` where the page does not say).

    Attributes:
        title: The headline.
        author: The author(s), as the page gives them.
        date: The publication date, ``YYYY-MM-DD``.
    """

    title: str | None = None
    author: str | None = None
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "author": self.author, "date": self.date}


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
        page: For an HTML page, what the page says about its article (title, author, date);
            ``text`` is then the extracted article text, headline first. ``None`` for text input.
    """

    id: str
    text: str
    source: str
    index: int
    line: int | None = None
    record: str | None = field(default=None, repr=False, compare=False)
    page: PageInfo | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Skipped:
    """An input left out, with the reason (reported in the summary and JSON stats).

    ``skipped`` is False for a warning about an input that was still used (e.g. undecodable
    bytes replaced).
    """

    path: str
    reason: str
    skipped: bool = True


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


MATCH_KINDS = ("exact", "near", "paraphrase")


@dataclass(frozen=True)
class Match:
    """A verified pair of duplicates.

    Attributes:
        a: Index of the first document (input order), ``a < b``.
        b: Index of the second document.
        kind: ``exact``, ``near`` or ``paraphrase``.
        similarity: The score that decided the kind (0-1): 1.0 for exact, the shingle Jaccard,
            containment or aligned-sentence coverage for near, the aligned-content coverage for
            paraphrase.
        measure: Which measure ``similarity`` is: ``identical``, ``jaccard``, ``containment``,
            ``copied_sentences`` or ``reworded_sentences``.
    """

    a: int
    b: int
    kind: str
    similarity: float
    measure: str


@dataclass(frozen=True)
class Member:
    """A document of a cluster, with how it matches the cluster's representative."""

    id: str
    similarity: float
    kind: str
    measure: str
    length: int
    representative: bool = False


@dataclass(frozen=True)
class Cluster:
    """A group of duplicates. ``members`` includes the representative, listed first."""

    id: int
    representative: str
    reason: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class ScanResult:
    """The outcome of a scan.

    Attributes:
        clusters: Clusters with at least two members, in a deterministic order.
        documents: Every document read, in input order (ids and sources).
        stats: Counts and timings (see docs/json.md).
        skipped: Inputs left out, with reasons.
    """

    clusters: tuple[Cluster, ...]
    documents: Sequence[Document]
    stats: dict[str, Any]
    skipped: tuple[Skipped, ...] = ()

    def duplicate_ids(self) -> set[str]:
        """Ids of the documents to drop: every cluster member but the representative."""
        return {m.id for c in self.clusters for m in c.members if not m.representative}


@dataclass(frozen=True)
class IndexMatch:
    """A document of an index (or one added earlier by the same run) that a queried document duplicates.

    Attributes:
        id: Id of the indexed document.
        kind: ``exact``, ``near`` or ``paraphrase`` (what ``scan`` would say of the pair).
        similarity: The deciding score (see :class:`Match`).
        measure: Which measure ``similarity`` is.
        length: Characters of the indexed document after cleaning.
        source: The file the indexed document came from.
        from_run: True when the document was added by this same run (``index query --add``).
    """

    id: str
    kind: str
    similarity: float
    measure: str
    length: int
    source: str
    from_run: bool = False


@dataclass(frozen=True)
class QueryDocument:
    """A queried document and its matches in the index, best first."""

    id: str
    source: str
    length: int
    matches: tuple[IndexMatch, ...]


@dataclass(frozen=True)
class QueryResult:
    """The outcome of ``dedupe index query``.

    Attributes:
        queries: Every queried document, in input order, with its matches.
        clusters: The queried documents with matches, grouped with what they match (as ``scan``).
        documents: The queried documents as read (for ``--emit`` of JSONL records).
        stats: Counts and timings (docs/index.md).
        skipped: Inputs left out, with reasons.
    """

    queries: tuple[QueryDocument, ...]
    clusters: tuple[Cluster, ...]
    documents: Sequence[Document]
    stats: dict[str, Any]
    skipped: tuple[Skipped, ...] = ()
