"""``dedupe diff``: what two documents share, sentence by sentence.

The verdict is the one ``scan`` gives the pair (:func:`dedupe.pipeline.compare_documents`). The
sentences shown as corresponding come from the alignment that fits the verdict:

* ``exact`` and ``near``: the copy alignment (:func:`~dedupe.similarity.align.align_copies`);
* ``paraphrase`` and ``different``: the content alignment
  (:func:`~dedupe.similarity.align.align_content`).

Both alignments keep only pairs increasing in both texts. A second alignment of the sentences left
over finds the ones that moved: its pairs that fit between the first alignment's pairs are added to
it, the others are reported as ``moved``. Matched sentences carry word-level opcodes.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from dedupe import __version__
from dedupe.config import CleanConfig, ScanConfig
from dedupe.errors import InputError
from dedupe.io import JSONL_SUFFIXES, ReadOptions, id_value, iter_documents
from dedupe.models import Document, Skipped
from dedupe.normalize import normalize_text
from dedupe.similarity.align import Alignment, SentencePair, SentenceSet, align_content, align_copies
from dedupe.similarity.verify import Verdict

COPY_KINDS = ("exact", "near")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class WordOp:
    """One opcode of a word-level diff: words ``a_start:a_end`` of A become ``b_start:b_end`` of B.

    ``op`` is ``equal``, ``replace``, ``delete`` or ``insert``; words are whitespace-separated tokens
    of the sentence as written, compared in normalized form (case and typographic quotes ignored).
    """

    op: str
    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass(frozen=True)
class PairDiff:
    """Sentence ``a`` of A corresponds to sentence ``b`` of B.

    Attributes:
        a: 0-based index of the sentence in A.
        b: 0-based index of the sentence in B.
        score: Similarity of the two sentences under the alignment shown (0-1).
        a_text: The sentence of A as written.
        b_text: The sentence of B as written.
        ops: Word-level opcodes turning ``a_text`` into ``b_text`` (see :class:`WordOp`).
    """

    a: int
    b: int
    score: float
    a_text: str
    b_text: str
    ops: tuple[WordOp, ...]

    @property
    def a_words(self) -> list[str]:
        return _WORD.findall(self.a_text)

    @property
    def b_words(self) -> list[str]:
        return _WORD.findall(self.b_text)

    @property
    def identical(self) -> bool:
        """The two sentences have the same words (in normalized form)."""
        return all(o.op == "equal" for o in self.ops)

    def to_dict(self) -> dict[str, Any]:
        aw, bw = self.a_words, self.b_words
        return {
            "a": self.a,
            "b": self.b,
            "score": self.score,
            "a_text": self.a_text,
            "b_text": self.b_text,
            "changes": [
                {
                    "op": o.op,
                    "a": [o.a_start, o.a_end],
                    "b": [o.b_start, o.b_end],
                    "a_text": " ".join(aw[o.a_start : o.a_end]),
                    "b_text": " ".join(bw[o.b_start : o.b_end]),
                }
                for o in self.ops
                if o.op != "equal"
            ],
        }


@dataclass(frozen=True)
class Unmatched:
    """A sentence found in one text only: its 0-based index and text."""

    index: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text}


@dataclass(frozen=True)
class DiffRow:
    """One row of the diff in reading order.

    ``kind`` is ``pair`` (aligned in order), ``moved`` (aligned, out of order; shown at its place in
    A), ``only_a`` or ``only_b``; ``pair`` is set for the first two, ``unmatched`` for the others.
    """

    kind: str
    pair: PairDiff | None = None
    unmatched: Unmatched | None = None


@dataclass(frozen=True)
class DiffResult:
    """The diff of two documents.

    Attributes:
        a_id, b_id: The documents' ids.
        verdict: ``exact``, ``near``, ``paraphrase`` or ``different`` (what ``scan`` decides).
        similarity: The score that decided the verdict.
        measure: Which measure ``similarity`` is.
        scores: Every score computed (jaccard, containment, copied_sentences, reworded_sentences, ...).
        alignment: ``copies`` or ``content``: which sentence alignment is shown.
        a_sentences, b_sentences: Number of sentences of each (cleaned) text.
        pairs: Sentences aligned in order, increasing in both ``a`` and ``b``.
        moved: Sentences aligned out of order, by ``a``.
        only_a: Sentences of A with no counterpart in B.
        only_b: Sentences of B with no counterpart in A.
    """

    a_id: str
    b_id: str
    verdict: str
    similarity: float
    measure: str
    scores: dict[str, float]
    alignment: str
    a_sentences: int
    b_sentences: int
    pairs: tuple[PairDiff, ...]
    moved: tuple[PairDiff, ...]
    only_a: tuple[Unmatched, ...]
    only_b: tuple[Unmatched, ...]

    def iter_rows(self) -> Iterator[DiffRow]:
        """Every sentence once, in reading order: the aligned pairs as sync points; between two of
        them the sentences of A (only-in-A or moved), then those only in B."""
        moved = {p.a: p for p in self.moved}
        only_a = {u.index: u for u in self.only_a}
        only_b = {u.index: u for u in self.only_b}
        ia = ib = 0
        for p in (*self.pairs, None):
            end_a, end_b = (p.a, p.b) if p is not None else (self.a_sentences, self.b_sentences)
            for i in range(ia, end_a):
                if i in moved:
                    yield DiffRow("moved", pair=moved[i])
                elif i in only_a:
                    yield DiffRow("only_a", unmatched=only_a[i])
            for j in range(ib, end_b):
                if j in only_b:
                    yield DiffRow("only_b", unmatched=only_b[j])
            if p is not None:
                yield DiffRow("pair", pair=p)
                ia, ib = p.a + 1, p.b + 1

    def to_dict(self) -> dict[str, Any]:
        """The ``diff --format json`` object (docs/diff.md)."""
        return {
            "version": __version__,
            "a": {"id": self.a_id, "sentences": self.a_sentences},
            "b": {"id": self.b_id, "sentences": self.b_sentences},
            "verdict": self.verdict,
            "similarity": round(self.similarity, 4),
            "measure": self.measure,
            "scores": dict(sorted(self.scores.items())),
            "alignment": self.alignment,
            "pairs": [p.to_dict() for p in self.pairs],
            "only_a": [u.to_dict() for u in self.only_a],
            "only_b": [u.to_dict() for u in self.only_b],
            "moved": [p.to_dict() for p in self.moved],
        }


@functools.lru_cache(maxsize=65536)
def _word_key(word: str) -> str:
    return normalize_text(word)


def word_ops(a_text: str, b_text: str) -> tuple[WordOp, ...]:
    """Word-level opcodes between two sentences (whitespace tokens compared in normalized form)."""
    ka = [_word_key(w) for w in _WORD.findall(a_text)]
    kb = [_word_key(w) for w in _WORD.findall(b_text)]
    return tuple(
        WordOp(o.tag, o.src_start, o.src_end, o.dest_start, o.dest_end) for o in Levenshtein.opcodes(ka, kb)
    )


def _subset(s: SentenceSet, keep: Sequence[int]) -> SentenceSet:
    return SentenceSet(
        tuple(s.texts[i] for i in keep), tuple(s.normalized[i] for i in keep), tuple(s.content[i] for i in keep)
    )


def _fits(pair: SentencePair, chain: Sequence[SentencePair], chain_a: Sequence[int]) -> bool:
    """Whether ``pair`` can join the increasing ``chain`` (whose ``a`` values are ``chain_a``)
    without breaking its order."""
    k = bisect.bisect_left(chain_a, pair.a)
    if k < len(chain) and chain[k].a == pair.a:
        return False
    lo = chain[k - 1].b if k > 0 else -1
    hi = chain[k].b if k < len(chain) else math.inf
    return lo < pair.b < hi


def align_pair(
    sa: SentenceSet, sb: SentenceSet, align: Callable[[SentenceSet, SentenceSet], Alignment]
) -> tuple[list[SentencePair], list[SentencePair]]:
    """Align two sentence sets in order, then once more over the sentences left over.

    Args:
        sa, sb: The two texts' sentences.
        align: The alignment (copies or content, with its threshold bound).

    Returns:
        ``(pairs, moved)``: the in-order pairs (increasing in both texts) and the out-of-order ones.
    """
    first = list(align(sa, sb).pairs)
    used_a, used_b = {p.a for p in first}, {p.b for p in first}
    left_a = [i for i in range(len(sa)) if i not in used_a]
    left_b = [j for j in range(len(sb)) if j not in used_b]
    if not left_a or not left_b:
        return first, []
    second = [
        SentencePair(left_a[p.a], left_b[p.b], p.score)
        for p in align(_subset(sa, left_a), _subset(sb, left_b)).pairs
    ]
    first_a = [p.a for p in first]
    fits = [_fits(p, first, first_a) for p in second]
    pairs = sorted(first + [p for p, f in zip(second, fits) if f], key=lambda p: p.a)
    moved = [p for p, f in zip(second, fits) if not f]
    return pairs, moved


def build_diff(
    verdict: Verdict,
    sa: SentenceSet,
    sb: SentenceSet,
    config: ScanConfig,
    a_id: str = "A",
    b_id: str = "B",
) -> DiffResult:
    """Build the diff model of two texts from their verdict and sentences.

    Args:
        verdict: The pair's verdict (:func:`dedupe.similarity.verify.compare`).
        sa, sb: The sentences of the two (cleaned) texts.
        config: The thresholds (``sentence_ratio`` for copies, ``sentence_overlap`` for content).
        a_id, b_id: The documents' ids, carried into the result.

    Returns:
        The :class:`DiffResult`.
    """
    if verdict.kind in COPY_KINDS:
        alignment = "copies"
        pairs, moved = align_pair(sa, sb, lambda x, y: align_copies(x, y, config.sentence_ratio))
    else:
        alignment = "content"
        # One-to-one pairs for display (the verdict's coverage also credits split sentences).
        pairs, moved = align_pair(sa, sb, lambda x, y: align_content(x, y, config.sentence_overlap, splits=False))

    def pair_diff(p: SentencePair) -> PairDiff:
        ta, tb = sa.texts[p.a], sb.texts[p.b]
        return PairDiff(p.a, p.b, p.score, ta, tb, word_ops(ta, tb))

    used_a = {p.a for p in (*pairs, *moved)}
    used_b = {p.b for p in (*pairs, *moved)}
    return DiffResult(
        a_id=a_id,
        b_id=b_id,
        verdict=verdict.kind,
        similarity=verdict.similarity,
        measure=verdict.measure,
        scores=dict(verdict.scores),
        alignment=alignment,
        a_sentences=len(sa),
        b_sentences=len(sb),
        pairs=tuple(pair_diff(p) for p in pairs),
        moved=tuple(pair_diff(p) for p in sorted(moved, key=lambda p: p.a)),
        only_a=tuple(Unmatched(i, sa.texts[i]) for i in range(len(sa)) if i not in used_a),
        only_b=tuple(Unmatched(j, sb.texts[j]) for j in range(len(sb)) if j not in used_b),
    )


def diff_documents(
    a: Document, b: Document, config: ScanConfig | None = None, clean_config: CleanConfig | None = None
) -> DiffResult:
    """Compare two documents as ``scan`` would and build their diff.

    With ``config.clean`` (the default) the cleaned texts are compared and shown; otherwise the raw ones.
    """
    from dedupe.pipeline import compare_documents

    config = config or ScanConfig()
    verdict, corpus = compare_documents(a, b, config, clean_config)
    return build_diff(verdict, corpus.sentence_set(0), corpus.sentence_set(1), config, a.id, b.id)


def summarize(result: DiffResult, limit: int = 3) -> dict[str, Any]:
    """A compact view of a diff for ``scan --diff``: how much of the member the representative
    covers, and the first ``limit`` changed or unmatched sentences.

    ``result`` compares the representative (A) with a member (B).
    """
    changed: list[dict[str, Any]] = []
    for row in result.iter_rows():
        if len(changed) >= limit:
            break
        if row.kind == "pair" and row.pair is not None and not row.pair.identical:
            changed.append({"status": "changed", "a_text": row.pair.a_text, "b_text": row.pair.b_text})
        elif row.kind == "moved" and row.pair is not None:
            changed.append({"status": "moved", "a_text": row.pair.a_text, "b_text": row.pair.b_text})
        elif row.kind in ("only_a", "only_b") and row.unmatched is not None:
            side = "a_text" if row.kind == "only_a" else "b_text"
            changed.append({"status": row.kind, side: row.unmatched.text})
    matched = len(result.pairs) + len(result.moved)
    return {
        "alignment": result.alignment,
        "matched_sentences": matched,
        "member_sentences": result.b_sentences,
        "matched_fraction": round(matched / result.b_sentences, 4) if result.b_sentences else 0.0,
        "identical_sentences": sum(1 for p in result.pairs if p.identical),
        "first_changes": changed,
    }


def cluster_diffs(
    clusters: Sequence[Any], documents: Sequence[Document], config: ScanConfig, clean_config: CleanConfig | None
) -> dict[tuple[int, str], dict[str, Any]]:
    """``summarize`` of every member against its cluster's representative, by (cluster id, member id)."""
    wanted = {m.id for c in clusters for m in c.members}
    by_id = {d.id: d for d in documents if d.id in wanted}  # only members: memory stays small
    out = {}
    for c in clusters:
        rep = by_id[c.representative]
        for m in c.members:
            if not m.representative:
                out[(c.id, m.id)] = summarize(diff_documents(rep, by_id[m.id], config, clean_config))
    return out


def _split_record(spec: str) -> tuple[str, str | None]:
    """``FILE.jsonl#ID`` -> ``(FILE.jsonl, ID)``; anything else (an existing path, ``-``) -> ``(spec, None)``."""
    if spec == "-" or Path(spec).exists() or "#" not in spec:
        return spec, None
    path, _, rid = spec.rpartition("#")
    if Path(path).suffix.lower() in JSONL_SUFFIXES:
        return path, rid
    return spec, None


def _record_id(doc: Document, id_field: str) -> str | None:
    """The id a JSONL record carries in its id field (``None`` for other documents)."""
    if doc.record is None or doc.id != f"{doc.source}:{doc.line}":
        return None
    return id_value(json.loads(doc.record).get(id_field))


def read_document(
    spec: str, options: ReadOptions | None = None, on_skip: Callable[[Skipped], None] | None = None
) -> Document:
    """Read the one document ``spec`` names: a file, ``-`` (stdin) or ``FILE.jsonl#ID``.

    ``ID`` is the value of the record's id field; when no record has that id, it is taken as a
    1-based line number (``FILE.jsonl#12``), which also names records without an id. A JSONL file without ``#ID`` must hold exactly one record.

    Args:
        spec: What the user wrote.
        options: How to read (JSONL fields, encoding, strictness).
        on_skip: Called with inputs left out and with warnings (undecodable bytes replaced).

    Raises:
        InputError: the file is missing, a directory, empty or unreadable; the id is not in the
            file or names several records; a JSONL file holds several records and no id was given.
    """
    path, rid = _split_record(spec)
    if path != "-" and Path(path).is_dir():
        raise InputError(f"{path} is a directory; diff compares two documents (files, -, or FILE.jsonl#ID)")
    skipped: list[Skipped] = []

    def skip(s: Skipped) -> None:
        skipped.append(s)
        if on_skip is not None:
            on_skip(s)

    docs = list(iter_documents([path], options, skip))
    if rid is not None:
        # Records sharing an id are renamed FILE:LINE while reading; match on the id they carry.
        id_field = (options or ReadOptions()).id_field
        by_id = [d for d in docs if d.id == rid or _record_id(d, id_field) == rid]
        if not by_id:
            by_id = [d for d in docs if str(d.line) == rid]
        if not by_id:
            raise InputError(f"no record with id {rid!r} in {path}")
        if len(by_id) > 1:
            lines = ", ".join(str(d.line) for d in by_id)
            raise InputError(f"id {rid!r} names {len(by_id)} records in {path} (lines {lines}); use the line number")
        return by_id[0]
    if not docs:
        reason = skipped[-1].reason if skipped else "no document"
        raise InputError(f"cannot diff {spec}: {reason}")
    if len(docs) > 1:
        raise InputError(f"{spec} holds {len(docs)} records; name one as {path}#ID")
    return docs[0]
