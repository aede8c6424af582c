"""Order-aware sentence alignment of two texts.

Two kinds of sentence correspondence are scored:

* ``copy``: the same sentence, possibly with typos or small edits (rapidfuzz ``ratio`` on the
  normalized sentences, computed for all pairs at once with ``process.cdist``);
* ``content``: the same statement reworded (Dice overlap of the sentences' content words, each
  word weighted by its inverse frequency among the two texts' sentences, so that the topic words
  both articles repeat everywhere count for little and the specific ones for much).

The alignment is the heaviest chain of corresponding pairs that is increasing in both texts
(a weighted longest increasing subsequence over the sparse matches, O(K log n)), so a moved
paragraph is kept as moved rather than counted twice.

Long texts: up to :data:`FULL_CELLS` sentence pairs every pair is scored. Beyond that (two texts of
thousands of sentences) copies are scored only near a guide path found from sentences sharing rare
words, and the content overlap is computed in blocks of rows, so that two 10,000-sentence texts take
seconds and a bounded amount of memory. Short texts are aligned exactly as before.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from typing import Any, NamedTuple, Protocol

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from dedupe.normalize import content_words_of_lines, fold_text, split_sentences, tokenize, tokenize_lines
from dedupe.similarity.native import kernels
from dedupe.similarity.shingle import vocabulary


@dataclass(frozen=True)
class SentenceSet:
    """The sentences of one text, with what alignment needs.

    Attributes:
        texts: The sentences as written.
        normalized: The sentences normalized.
        content: The stemmed content words of each sentence.
    """

    texts: tuple[str, ...]
    normalized: tuple[str, ...]
    content: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def words(self) -> _SentenceWords:
        """The content words as numbers (computed on first use, kept with the set)."""
        return _SentenceWords.of(self.content)

    @cached_property
    def char_counts(self) -> np.ndarray:
        """:func:`char_counts` of the normalized sentences (computed on first use)."""
        return char_counts(self.normalized)


class Sentences(Protocol):
    """What scoring reads of a text's sentences: a :class:`SentenceSet`, or the smaller
    :class:`ScoredSentences` that ``scan`` keeps for documents in candidate pairs."""

    @property
    def normalized(self) -> tuple[str, ...]: ...

    @property
    def words(self) -> _SentenceWords: ...

    @property
    def char_counts(self) -> np.ndarray: ...

    def __len__(self) -> int: ...


CHAR_BINS = 32


def _char_bin_table() -> np.ndarray:
    # Normalized text is case-folded: letters, the space and digits take most characters.
    table = np.empty(128, dtype=np.int64)
    for c in range(128):
        ch = chr(c)
        table[c] = c - 97 if "a" <= ch <= "z" else 26 if ch == " " else 27 if ch.isdigit() else 28 + c % 4
    return table


_CHAR_BIN = _char_bin_table()
_CHAR_BIN_BYTES = _CHAR_BIN.astype(np.uint8).tobytes()  # the same classes, for the kernels


def char_counts(normalized: Sequence[str]) -> np.ndarray:
    """How many characters of each sentence fall in each of :data:`CHAR_BINS` classes
    (``int32[len(normalized), CHAR_BINS]``): one per letter a-z, the space, digits, and four
    classes for every other character.

    Two sentences have at most ``sum(min(counts_a, counts_b))`` characters in common, in order or
    not, so that bounds the longest common subsequence, hence their rapidfuzz ratio
    (:func:`align_copies_reaching`).
    """
    n = len(normalized)
    if not n:
        return np.zeros((0, CHAR_BINS), dtype=np.int32)
    native = kernels()
    if native is not None:
        out = np.empty((n, CHAR_BINS), dtype=np.int32)
        native.char_counts(normalized, _CHAR_BIN_BYTES, out)
        return out
    joined = "".join(normalized)
    lengths = np.fromiter(map(len, normalized), dtype=np.int64, count=n)
    if joined.isascii():
        bins = _CHAR_BIN[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]
    else:
        points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        bins = np.where(points < 128, _CHAR_BIN[np.minimum(points, 127)], 28 + (points & 3).astype(np.int64))
    rows = np.repeat(np.arange(n, dtype=np.int64) * CHAR_BINS, lengths)
    return np.bincount(rows + bins, minlength=n * CHAR_BINS).astype(np.int32).reshape(n, CHAR_BINS)


@dataclass(frozen=True)
class ScoredSentences:
    """The part of a :class:`SentenceSet` that :func:`align_copies` and :func:`align_content`
    read, with a compact byte form.

    ``scan`` prepares the sentences of each document in candidate pairs once and reads them back
    for every pair of the document: in this form a read decodes two strings and one array instead
    of unpickling every sentence and word and numbering the words again (a fifth of the time).
    """

    normalized: tuple[str, ...]
    words: _SentenceWords
    char_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.normalized)

    @classmethod
    def of(cls, sentences: SentenceSet) -> ScoredSentences:
        return cls(sentences.normalized, sentences.words, sentences.char_counts)

    def to_bytes(self, keep_text: bool = True) -> bytes:
        """The compact byte form (see :func:`_stored_layout`), read back by :meth:`from_bytes` and,
        without decoding it, by :func:`stored_reach`; without ``keep_text``, the sentences' text is
        left out (the bounds do not read it: see :func:`stored_sentences`)."""
        w = self.words
        n, n_words = len(self.normalized), len(w.vocab)
        # Sentences hold no line breaks (split_sentences splits at them). The numbers (word order,
        # sentence counts, (sentence, word) pairs, character counts) are stored in the narrowest
        # unsigned type that holds them (one or two bytes for nearly every news text: a third of the
        # bytes of int32), used as int64 and int32 like the originals. The type is chosen by bounds:
        # each number is below the number of words or of sentences, each count at most the length
        # of its sentence.
        numbers_width = _width(max(n, n_words))
        counts_width = _width(max(map(len, self.normalized), default=0))
        numbers = np.concatenate((w.index[1], w.df, w.rows, w.cols)).astype(_WIDTH_TYPE[numbers_width])
        counts = self.char_counts.astype(_WIDTH_TYPE[counts_width])
        text = "\n".join(self.normalized).encode("utf-8", "surrogatepass") if keep_text else b""
        header = _STORED_HEAD.pack(_STORED_MAGIC, n, n_words, len(w.rows), numbers_width, counts_width, len(text),
                                   0 if keep_text else _TEXT_LEFT_OUT)
        return b"".join((header, w.vocab.astype(np.uint64).tobytes(), numbers.tobytes(), counts.tobytes(), text))

    @classmethod
    def from_bytes(cls, blob: bytes, text: Callable[[], bytes] | None = None) -> ScoredSentences:
        """The sentences of :meth:`to_bytes`' bytes; ``text`` gives the sentences' text (as
        :func:`sentence_text` makes it) when the bytes left it out.

        Raises:
            ValueError: The bytes are no stored sentences, or they left the text out and no ``text``
                was given.
        """
        lay = _stored_layout(blob)
        n, n_words, entries = lay.sentences, lay.words, lay.entries
        words = np.frombuffer(blob, dtype=np.uint64, count=n_words, offset=_STORED_HEADER)
        a = np.frombuffer(blob, dtype=_WIDTH_TYPE[lay.numbers_width], count=2 * (n_words + entries),
                          offset=lay.numbers_at).astype(np.int64)
        char = np.frombuffer(blob, dtype=_WIDTH_TYPE[lay.counts_width], count=n * CHAR_BINS, offset=lay.counts_at)
        order = a[:n_words]
        sentence_words = _SentenceWords(words, a[n_words : 2 * n_words], a[2 * n_words : 2 * n_words + entries],
                                        a[2 * n_words + entries :])
        vars(sentence_words)["index"] = (words[order], order)  # the cached property, as stored
        if lay.text_left_out and text is None:
            raise ValueError("stored sentences without their text, and no text given")
        joined = text() if lay.text_left_out and text is not None else blob[lay.text_at :]
        normalized = joined.decode("utf-8", "surrogatepass")
        if n and normalized.count("\n") != n - 1:
            raise ValueError("stored sentences and their text differ in number")
        return cls(tuple(normalized.split("\n")) if n else (), sentence_words,
                   char.astype(np.int32).reshape(n, CHAR_BINS))


_STORED_MAGIC = 0x31534E5453  # "STNS1": the layout of ScoredSentences.to_bytes
_STORED_HEADER = 64  # eight int64: magic, sentences, words, entries, number width, count width, text bytes, flags
_TEXT_LEFT_OUT = 1  # flags: the sentences' text is not stored (ScoredSentences.to_bytes(keep_text=False))
_STORED_HEAD = struct.Struct("=8q")
_WIDTH_TYPE: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("u2"), 8: np.dtype("i8")}


class _StoredLayout(NamedTuple):
    sentences: int
    words: int
    entries: int
    numbers_width: int
    counts_width: int
    numbers_at: int
    counts_at: int
    text_at: int
    text_left_out: bool


def _stored_layout(blob: bytes) -> _StoredLayout:
    """Check a :meth:`ScoredSentences.to_bytes` blob's header against its size and say where its
    parts start. After the header come the words' hashes (``uint64``), the numbers (the words'
    order by hash, their sentence counts, the entries' sentences, then their words) and the
    character counts, both in the width the header gives, then the sentences in UTF-8, one per line.

    Raises:
        ValueError: The bytes are no stored sentences.
    """
    head = np.frombuffer(blob, dtype=np.int64, count=8).tolist() if len(blob) >= _STORED_HEADER else [0] * 8
    magic, n, n_words, entries, numbers_width, counts_width, text_bytes, flags = head
    if magic != _STORED_MAGIC or numbers_width not in _WIDTH_TYPE or counts_width not in _WIDTH_TYPE \
            or min(n, n_words, entries, text_bytes) < 0 or flags not in (0, _TEXT_LEFT_OUT) \
            or (flags and text_bytes):
        raise ValueError("not stored sentences")
    numbers_at = _STORED_HEADER + 8 * n_words
    counts_at = numbers_at + numbers_width * 2 * (n_words + entries)
    text_at = counts_at + counts_width * n * CHAR_BINS
    if text_at + text_bytes != len(blob):
        raise ValueError("stored sentences of the wrong size")
    return _StoredLayout(n, n_words, entries, numbers_width, counts_width, numbers_at, counts_at, text_at, bool(flags))


def _width(top: int) -> int:
    """The bytes of the narrowest of uint8, uint16 and int64 that holds integers from 0 to ``top``."""
    return 1 if top < 1 << 8 else 2 if top < 1 << 16 else 8


@dataclass(frozen=True)
class _SentenceWords:
    """The content words of a text's sentences, numbered, for aligning it with many others.

    Words are known by the stable 64-bit hash of their content form (:class:`Vocabulary`'s), so
    that a text's words are found without a string per word.

    Attributes:
        vocab: ``uint64`` hashes of the distinct words, in order of first use (word ``k`` is number ``k``).
        df: For each word, the number of sentences holding it.
        rows, cols: The (sentence, word) pairs: sentence ``rows[k]`` holds word ``cols[k]``, in
            order of sentences, and within one in order of first use.
    """

    vocab: np.ndarray
    df: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    @cached_property
    def index(self) -> tuple[np.ndarray, np.ndarray]:
        """The words' hashes sorted, and the number of each (made on first use, kept with the words)."""
        order = np.argsort(self.vocab)  # the hashes are distinct: any sort gives this order
        return self.vocab[order], order

    def numbers_of(self, hashes: np.ndarray) -> np.ndarray:
        """The number of each of ``hashes`` among these words, -1 where it is not one."""
        keys, order = self.index
        if not len(keys):
            return np.full(len(hashes), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
        return np.where(keys[at] == hashes, order[at], -1)

    @classmethod
    def of(cls, content: Sequence[Sequence[str]]) -> _SentenceWords:
        """The words of sentences given as their content words (distinct within a sentence)."""
        flat = list(chain.from_iterable(content))
        vocab = vocabulary()
        ids = vocab.lookup(flat)  # first: it may grow (replace) the hash array
        hashes = vocab.hashes[ids]
        rows = np.repeat(np.arange(len(content), dtype=np.int64), [len(words) for words in content])
        return cls.of_hashes(hashes, rows)

    @classmethod
    def of_hashes(cls, hashes: np.ndarray, rows: np.ndarray) -> _SentenceWords:
        """The words of sentences given as each word's hash and sentence (``rows``, non-decreasing);
        repeats of a word within a sentence count once, as :func:`prepare_sentences` keeps them."""
        m = len(hashes)
        native = kernels()
        if native is not None:
            # One pass in text order with a table of the words seen (the same numbers as below).
            vocab, df = np.empty(m, dtype=np.uint64), np.empty(m, dtype=np.int64)
            out_rows, out_cols = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
            words, entries = native.sentence_words(np.ascontiguousarray(hashes, dtype=np.uint64),
                                                   np.ascontiguousarray(rows, dtype=np.int64),
                                                   vocab, df, out_rows, out_cols)
            return cls(vocab[:words], df[:words], out_rows[:entries], out_cols[:entries])
        # One stable sort by hash: each word's entries form a run in text order, so its first use
        # opens the run and a repeat within a sentence follows an entry of the same sentence.
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        run_start = np.empty(m, dtype=bool)
        run_start[:1] = True
        np.not_equal(sorted_hashes[1:], sorted_hashes[:-1], out=run_start[1:])
        first_in_sentence = run_start.copy()
        sorted_rows = rows[order]
        first_in_sentence[1:] |= sorted_rows[1:] != sorted_rows[:-1]
        by_use = np.argsort(order[run_start])  # the words in order of first use
        number = np.empty(len(by_use), dtype=np.int64)
        number[by_use] = np.arange(len(by_use), dtype=np.int64)
        col_at = np.empty(m, dtype=np.int64)
        col_at[order] = number[np.cumsum(run_start) - 1]
        kept = np.zeros(m, dtype=bool)
        kept[order[first_in_sentence]] = True
        cols = col_at[kept]
        return cls(sorted_hashes[run_start][by_use], np.bincount(cols, minlength=len(by_use)),
                   rows[kept].astype(np.int64), cols)


def prepare_sentences(text: str) -> SentenceSet:
    """Split ``text`` into sentences and compute their normalized forms and content words."""
    texts = tuple(split_sentences(text))
    normalized = _normalized(texts)
    content = tuple(tuple(dict.fromkeys(words)) for words in content_words_of_lines(tokenize_lines(list(normalized))))
    return SentenceSet(texts, normalized, content)


def _normalized(texts: Sequence[str]) -> tuple[str, ...]:
    # normalize_text of each sentence, with one fold of them all: sentences hold no line breaks,
    # and a line break neither composes nor reorders with its neighbours under NFKC, nor folds.
    folded = fold_text("\n".join(texts)).split("\n") if texts else []
    native = kernels()
    if native is not None:
        return tuple(native.collapse_whitespace(folded))
    # Whitespace runs collapsed (str.split's whitespace is re's \s). The space is the only
    # whitespace str.isprintable() accepts, so a printable sentence without a double space or an
    # edge space has none to collapse (most sentences: split_sentences strips them).
    return tuple(f if f.isprintable() and "  " not in f and f[:1] != " " and f[-1:] != " " else " ".join(f.split())
                 for f in folded)


def scored_sentences(text: str) -> ScoredSentences:
    """``ScoredSentences.of(prepare_sentences(text))``, without making the sentences' words as
    strings: the tokens of all sentences are looked up at once in the :func:`vocabulary`, which
    knows the hash of each token's content form (a third of the time)."""
    normalized, _, ids, rows = _sentence_tokens(text)
    forms = vocabulary().content[ids]
    kept = forms != 0  # function words and one-letter tokens
    return ScoredSentences(normalized, _SentenceWords.of_hashes(forms[kept], rows[kept]), char_counts(normalized))


def _sentence_tokens(text: str) -> tuple[tuple[str, ...], str, np.ndarray, np.ndarray]:
    """A text's normalized sentences, them joined one per line, and the :func:`vocabulary` ids of
    their word tokens with each token's sentence (what :func:`scored_sentences` and
    :func:`stored_sentences` start from)."""
    normalized = _normalized(split_sentences(text))
    joined = "\n".join(normalized)
    ids, rows = vocabulary().lookup_lines(joined)
    return normalized, joined, ids, rows


def stored_sentences(text: str, keep_text: bool = True) -> bytes:
    """``scored_sentences(text).to_bytes(keep_text)``, which ``scan`` stores for each document of its
    candidate pairs, made by the compiled kernel from the tokens' ids without the arrays and objects
    between. ``scan`` leaves the text out: the bounds that settle nearly every pair
    (:func:`stored_reach_many`) do not read it, and the few pairs they leave to be aligned make it
    again (:func:`sentence_text`); it was 40% of the bytes written."""
    native = kernels()
    if native is None:
        return scored_sentences(text).to_bytes(keep_text)
    data, ids, rows, counts = _sentence_parts(text)
    return bytes(native.stored_sentences(vocabulary().content, ids, rows, counts, data if keep_text else b"",
                                         0 if keep_text else _TEXT_LEFT_OUT))


def sentence_text(text: str) -> bytes:
    """The sentences of ``text`` normalized, one per line, in UTF-8: what :func:`stored_sentences`
    leaves out without ``keep_text``."""
    return _sentence_parts(text)[0]


def _sentence_parts(text: str) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """A text's normalized sentences joined one per line (UTF-8), the :func:`vocabulary` ids of their
    word tokens with each token's sentence, and their character counts: in one compiled pass
    (``Vocabulary.lookup_sentences``) for most texts, else from the strings."""
    found = vocabulary().lookup_sentences(text, _CHAR_BIN_BYTES)
    if found is not None:
        return found
    normalized, joined, ids, rows = _sentence_tokens(text)
    return joined.encode("utf-8", "surrogatepass"), ids, rows, char_counts(normalized)


@dataclass(frozen=True)
class SentencePair:
    """Sentence ``a`` of the first text corresponds to sentence ``b`` of the second, with ``score`` in [0, 1]."""

    a: int
    b: int
    score: float


@dataclass(frozen=True)
class Alignment:
    """An order-preserving alignment.

    Attributes:
        pairs: Corresponding sentences, increasing in both ``a`` and ``b``.
        coverage_a: Share of the first text's weight that is aligned (0-1).
        coverage_b: Share of the second text's weight that is aligned (0-1).
    """

    pairs: tuple[SentencePair, ...]
    coverage_a: float
    coverage_b: float

    @property
    def coverage_min(self) -> float:
        return min(self.coverage_a, self.coverage_b)

    @property
    def coverage_max(self) -> float:
        return max(self.coverage_a, self.coverage_b)


class _PrefixMax:
    """Fenwick tree over columns: the best (value, match) among columns below a given one."""

    def __init__(self, n_cols: int) -> None:
        self.n = n_cols
        self.val = [0.0] * (n_cols + 1)
        self.arg = [-1] * (n_cols + 1)

    def query(self, j: int) -> tuple[float, int]:
        """Best over columns ``< j``; ``(0.0, -1)`` when there is none."""
        v, arg = 0.0, -1
        while j > 0:
            if self.val[j] > v:
                v, arg = self.val[j], self.arg[j]
            j -= j & -j
        return v, arg

    def update(self, j: int, v: float, arg: int) -> None:
        """Offer ``v`` (reached by match ``arg``) at column ``j``."""
        j += 1
        while j <= self.n:
            if v > self.val[j]:
                self.val[j], self.arg[j] = v, arg
            j += j & -j


def _row_groups(rows: np.ndarray, cols: np.ndarray) -> list[list[int]]:
    """Match indices grouped by row, rows ascending, columns ascending within a row."""
    order = np.lexsort((cols, rows)).tolist()
    groups: list[list[int]] = []
    last = None
    for m in order:
        if rows[m] != last:
            groups.append([])
            last = rows[m]
        groups[-1].append(m)
    return groups


def _trace(best: list[float], back: list[int]) -> list[int]:
    m = int(np.argmax(best))
    chain = []
    while m != -1:
        chain.append(m)
        m = back[m]
    chain.reverse()
    return chain


def _heaviest_chain(
    rows: np.ndarray, cols: np.ndarray, gains: np.ndarray, n_cols: int
) -> list[int]:
    """Indices of the matches forming the heaviest chain strictly increasing in row and column."""
    if len(rows) == 0:
        return []
    tree = _PrefixMax(n_cols)
    best = [0.0] * len(rows)
    back = [-1] * len(rows)
    for group in _row_groups(rows, cols):
        for m in group:  # all of one row read the tree before any of the row is written
            v, arg = tree.query(int(cols[m]))
            best[m] = v + float(gains[m])
            back[m] = arg
        for m in group:
            tree.update(int(cols[m]), best[m], m)
    return _trace(best, back)


def _heaviest_chain_with_splits(
    rows: np.ndarray, cols: np.ndarray, wa: np.ndarray, wb: np.ndarray
) -> list[int]:
    """Like :func:`_heaviest_chain`, but a sentence may correspond to several in-order sentences
    of the other text (a rewrite that splits one sentence in two, or merges two).

    A step to a match that shares its row (or column) with the previous one adds only the weight
    of the newly covered sentence, so no sentence is counted twice.
    """
    if len(rows) == 0:
        return []
    n_cols = int(cols.max()) + 1
    tree = _PrefixMax(n_cols)
    same_col_val = [0.0] * n_cols  # best chain ending in this column, over earlier rows
    same_col_arg = [-1] * n_cols
    best = [0.0] * len(rows)
    back = [-1] * len(rows)
    for group in _row_groups(rows, cols):
        row_best, row_arg = -1.0, -1  # best chain ending in this row at a smaller column
        for m in group:
            i, j = int(rows[m]), int(cols[m])
            v, arg = tree.query(j)
            cand = [(v + wa[i] + wb[j], arg), (same_col_val[j] + wa[i], same_col_arg[j])]
            if row_arg != -1:
                cand.append((row_best + wb[j], row_arg))
            best[m], back[m] = max(cand, key=lambda c: c[0])
            if best[m] > row_best:
                row_best, row_arg = best[m], m
        for m in group:
            j = int(cols[m])
            tree.update(j, best[m], m)
            if best[m] > same_col_val[j]:
                same_col_val[j], same_col_arg[j] = best[m], m
    return _trace(best, back)


def _finish(
    rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    wa: np.ndarray,
    wb: np.ndarray,
    splits: bool = False,
) -> Alignment:
    if splits:
        chain = _heaviest_chain_with_splits(rows, cols, wa, wb)
    else:
        gains = wa[rows] + wb[cols] if len(rows) else np.zeros(0)
        chain = _heaviest_chain(rows, cols, gains, len(wb))
    pairs = tuple(SentencePair(int(rows[m]), int(cols[m]), round(float(scores[m]), 4)) for m in chain)
    ta, tb = float(wa.sum()), float(wb.sum())
    ca = sum(float(wa[i]) for i in {p.a for p in pairs}) / ta if ta else 0.0
    cb = sum(float(wb[j]) for j in {p.b for p in pairs}) / tb if tb else 0.0
    return Alignment(pairs, min(ca, 1.0), min(cb, 1.0))


# Up to this many sentence pairs (about 2,000 x 2,000) every pair is scored at once; beyond it the
# full matrix costs minutes and gigabytes, so only pairs near a guide path are scored.
FULL_CELLS = 4_000_000
_BAND = 48  # half-width, in sentences of the second text, of the band scored around the guide path
_BAND_ROWS = 128  # rows of the first text per banded cdist call
_RARE = 8  # a word in at most this many sentences of each text makes the sentences holding it candidates
_CONTENT_ROWS = 1024  # rows per block of the sparse content product on long texts
_DENSE_CELLS = 200_000  # up to this many sentence-word cells, the content product is done dense


def _word_index(normalized: Sequence[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, s in enumerate(normalized):
        for w in set(tokenize(s)):
            index.setdefault(w, []).append(i)
    return index


def _banded_copy_matches(
    a: Sequence[str], b: Sequence[str], cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copy matches of two long sentence lists without scoring all pairs.

    A copied sentence keeps most of its rare words even with typos, so pairs of sentences sharing a
    word that is rare in both texts are scored first; their heaviest increasing chain is the guide
    path (straight between the texts' corners where no such pair exists). Then every sentence of
    ``a`` is scored against the sentences of ``b`` within :data:`_BAND` of the path. Matches far off
    the path are out of order and would mostly be dropped by the chain anyway.

    Returns:
        Rows, columns and ratios (0-100) of the pairs at or above ``cutoff``.
    """
    n, m = len(a), len(b)
    found: dict[tuple[int, int], float] = {}
    index_b = _word_index(b)
    for w, ia in _word_index(a).items():
        ib = index_b.get(w)
        if ib is None or len(ia) > _RARE or len(ib) > _RARE:
            continue
        for i in ia:
            for j in ib:
                if (i, j) not in found:
                    found[i, j] = fuzz.ratio(a[i], b[j], score_cutoff=cutoff)
    seeds = [(i, j) for (i, j), r in found.items() if r >= cutoff]
    guide_rows, guide_cols = [-1.0], [-1.0]
    if seeds:
        rows = np.array([p[0] for p in seeds], dtype=np.int64)
        cols = np.array([p[1] for p in seeds], dtype=np.int64)
        chain = _heaviest_chain(rows, cols, np.ones(len(seeds)), m)
        guide_rows += [float(rows[k]) for k in chain]
        guide_cols += [float(cols[k]) for k in chain]
    guide_rows.append(float(n))
    guide_cols.append(float(m))
    guide = np.interp(np.arange(n, dtype=np.float64), guide_rows, guide_cols)
    for r0 in range(0, n, _BAND_ROWS):
        r1 = min(n, r0 + _BAND_ROWS)
        lo = max(0, int(math.floor(guide[r0:r1].min())) - _BAND)
        hi = min(m, int(math.ceil(guide[r0:r1].max())) + _BAND + 1)
        if lo >= hi:
            continue
        block = cdist(a[r0:r1], b[lo:hi], scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float32)
        for i, j in zip(*np.nonzero(block >= cutoff)):
            found[r0 + int(i), lo + int(j)] = float(block[i, j])
    keys = sorted(k for k, r in found.items() if r >= cutoff)
    rows = np.array([k[0] for k in keys], dtype=np.int64)
    cols = np.array([k[1] for k in keys], dtype=np.int64)
    scores = np.array([found[k] for k in keys], dtype=np.float64)
    return rows, cols, scores


def align_copies(a: Sentences, b: Sentences, min_ratio: float) -> Alignment:
    """Align sentences that are copies of each other (rapidfuzz ratio >= ``min_ratio``).

    Coverage is weighted by sentence length in characters. Beyond :data:`FULL_CELLS` sentence
    pairs only pairs near the guide path of rare shared words are scored (see module docstring).
    """
    al = align_copies_reaching(a, b, min_ratio, 0.0)
    assert al is not None  # every alignment reaches a coverage of 0
    return al


_BOUND_CELLS = 65_536  # sentence pairs up to which the copy bound is computed (all at once)


def align_copies_reaching(a: Sentences, b: Sentences, min_ratio: float, best: float) -> Alignment | None:
    """:func:`align_copies`, or ``None`` when no alignment can cover ``best`` of either text (then
    the texts are not aligned at all).

    The test is a bound that never returns ``None`` for texts whose alignment reaches ``best``:
    two sentences of ``m`` and ``n`` characters have a ratio of at most ``2s / (m + n)``, where
    ``s`` is the number of characters they could have in common (:func:`char_counts`); a text's
    coverage is at most the length of its sentences with some sentence of the other text within
    reach. Two different sentences rarely share enough characters to reach a ratio of 0.85.
    """
    if not len(a) or not len(b):
        return Alignment((), 0.0, 0.0)
    if best > 0.0 and len(a) * len(b) <= _BOUND_CELLS \
            and copies_out_of_reach(_copy_reach(a.char_counts, b.char_counts, min_ratio), best):
        return None
    cutoff = min_ratio * 100
    wa = np.array([len(s) for s in a.normalized], dtype=np.float64)
    wb = np.array([len(s) for s in b.normalized], dtype=np.float64)
    if len(a) * len(b) > FULL_CELLS:
        rows, cols, ratios = _banded_copy_matches(a.normalized, b.normalized, cutoff)
        return _finish(rows, cols, ratios / 100.0, wa, wb)
    scores = cdist(a.normalized, b.normalized, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float32)
    rows, cols = np.nonzero(scores >= cutoff)
    return _finish(rows, cols, scores[rows, cols] / 100.0, wa, wb)


def _copy_reach(counts_a: np.ndarray, counts_b: np.ndarray, min_ratio: float) -> tuple[float, float, float, float]:
    """The length of each text's sentences within reach of a copy in the other, and their total
    length (see :func:`align_copies_reaching`; compiled where the kernels are)."""
    native = kernels()
    if native is not None:
        result: tuple[float, float, float, float] = native.char_reach(
            np.ascontiguousarray(counts_a, dtype=np.int32), np.ascontiguousarray(counts_b, dtype=np.int32),
            min_ratio, 1.0 - _SLACK)
        return result
    la, lb = counts_a.sum(axis=1).astype(np.float64), counts_b.sum(axis=1).astype(np.float64)
    shared = np.minimum(counts_a[:, None, :], counts_b[None, :, :]).sum(axis=2)
    near = 2.0 * shared >= min_ratio * (la[:, None] + lb[None, :]) * (1.0 - _SLACK)
    return float(la[near.any(axis=1)].sum()), float(la.sum()), float(lb[near.any(axis=0)].sum()), float(lb.sum())


def _joint_words(a: Sentences, b: Sentences) -> tuple[int, np.ndarray, np.ndarray]:
    """The words of both texts numbered together (``a``'s first, then ``b``'s new ones, each in
    order of first use): their count, their sentence frequency over both texts, and the numbers
    of ``b``'s words."""
    wa, wb = a.words, b.words
    b_ids = wa.numbers_of(wb.vocab)
    new = b_ids < 0
    n_words = len(wa.vocab) + int(new.sum())
    b_ids[new] = np.arange(len(wa.vocab), n_words)  # b's new words, in b's order of first use
    df = np.zeros(n_words, dtype=np.int64)
    df[: len(wa.vocab)] = wa.df
    df[b_ids] += wb.df  # b_ids are distinct
    return n_words, df, b_ids


@lru_cache(maxsize=1024)
def _idf_table(n: int) -> np.ndarray:
    """``log(1 + n / df)`` for ``df = 1..n`` (``math.log1p``: NumPy's rounds some values otherwise)."""
    return np.array([0.0] + [math.log1p(n / df) for df in range(1, n + 1)], dtype=np.float64)


def align_content(a: Sentences, b: Sentences, min_overlap: float, splits: bool = True) -> Alignment:
    """Align sentences that say the same thing in other words.

    Sentence similarity is the Dice overlap of content words weighted by
    ``log(1 + N / df)`` over the sentences of both texts. Coverage is weighted the same way.
    With ``splits``, one sentence may correspond to two or more in-order sentences of the other
    text (rewrites split and merge sentences); each sentence still counts once in the coverage.
    """
    al = align_content_reaching(a, b, min_overlap, 0.0, 0.0, splits)
    assert al is not None  # every alignment reaches a coverage of 0
    return al


def align_content_reaching(
    a: Sentences, b: Sentences, min_overlap: float, best: float, other: float, splits: bool = True
) -> Alignment | None:
    """:func:`align_content`, or ``None`` when no alignment can cover ``best`` of one text and
    ``other`` of the other (then the texts are not aligned at all).

    The test is a bound, exact in the sense that it never returns ``None`` for texts whose
    alignment reaches both coverages: a sentence ``i`` with content weight ``w`` can only be aligned
    when the weight ``x`` of its words found anywhere in the other text satisfies
    ``x >= min_overlap * w / (2 - min_overlap)`` (its Dice overlap ``2s / (w + w')`` with any sentence
    of weight ``w' >= s`` sharing weight ``s <= x`` is at most ``2x / (w + x)``); the coverage of a
    text is at most the weight of its sentences that pass. Two unrelated articles on one topic
    share words, but few of their sentences share enough (docs/performance.md has the numbers).
    """
    if not len(a) or not len(b):
        return Alignment((), 0.0, 0.0)
    if (best > 0.0 or other > 0.0) and content_out_of_reach(_content_reach(a, b, min_overlap), best, other):
        return None
    n_words, df, b_ids = _joint_words(a, b)
    weight = _idf_table(len(a) + len(b))[df]
    a_rows, a_cols = a.words.rows, a.words.cols
    b_rows, b_cols = b.words.rows, b_ids[b.words.cols]
    if (len(a) + len(b)) * n_words <= _DENSE_CELLS:
        ma = np.zeros((len(a), n_words), dtype=np.float64)
        ma[a_rows, a_cols] = 1.0
        mb = np.zeros((len(b), n_words), dtype=np.float64)
        mb[b_rows, b_cols] = 1.0
        return _align_content_dense(ma, mb, weight, min_overlap, splits)
    from scipy import sparse  # only for texts too long for the dense path: a tenth of a second to import

    ma = sparse.csr_matrix((np.ones(len(a_rows)), (a_rows, a_cols)), shape=(len(a), n_words))
    mb = sparse.csr_matrix((np.ones(len(b_rows)), (b_rows, b_cols)), shape=(len(b), n_words))
    wa, wb = ma @ weight, mb @ weight
    weighted, mbt = ma.multiply(weight).tocsr(), mb.T.tocsr()
    # Long texts: the product in blocks of rows, each filtered at once (same values, bounded memory).
    step = len(a) if len(a) * len(b) <= FULL_CELLS else _CONTENT_ROWS
    parts_r, parts_c, parts_d = [], [], []
    for r0 in range(0, len(a), step):
        inter = (weighted[r0 : r0 + step] @ mbt).tocoo()
        rows, cols, shared = inter.row + r0, inter.col, inter.data
        denom = wa[rows] + wb[cols]
        dice = np.where(denom > 0, 2.0 * shared / np.where(denom > 0, denom, 1.0), 0.0)
        keep = dice >= min_overlap
        parts_r.append(rows[keep].astype(np.int64))
        parts_c.append(cols[keep].astype(np.int64))
        parts_d.append(dice[keep])
    rows, cols, dice = np.concatenate(parts_r), np.concatenate(parts_c), np.concatenate(parts_d)
    order = np.lexsort((cols, rows))  # row-major, as the dense path gives them
    return _finish(rows[order], cols[order], dice[order], wa, wb, splits)


_SLACK = 1e-9  # relative: the bound's sums are not added in the alignment's order


def copies_out_of_reach(reach: tuple[float, float, float, float], best: float) -> bool:
    """Whether no copy alignment can cover ``best`` of either text, by the bound ``reach``
    (:func:`_copy_reach`'s; see :func:`align_copies_reaching`)."""
    reach_a, reach_b = _shares(*reach)
    return max(reach_a, reach_b) < best


def content_out_of_reach(reach: tuple[float, float, float, float], best: float, other: float) -> bool:
    """Whether no content alignment can cover ``best`` of one text and ``other`` of the other, by
    the bound ``reach`` (:func:`_content_reach`'s; see :func:`align_content_reaching`)."""
    reach_a, reach_b = _shares(*reach)
    return max(reach_a, reach_b) < best or min(reach_a, reach_b) < other


class StoredReach(NamedTuple):
    """Both bounds of two texts' stored sentences (:func:`stored_reach`)."""

    sentences_a: int
    sentences_b: int
    copies: tuple[float, float, float, float] | None  # None where align_copies_reaching computes no bound
    content: tuple[float, float, float, float]


def stored_reach(blob_a: bytes, blob_b: bytes, min_ratio: float, min_overlap: float) -> StoredReach | None:
    """:func:`_copy_reach` and :func:`_content_reach` of two texts' stored sentences
    (:meth:`ScoredSentences.to_bytes`), computed from the bytes without reading them back: what
    tells, for most candidate pairs, that no alignment can make them duplicates. The copy bound is
    ``None`` where :func:`align_copies_reaching` computes none (a text without sentences, or more
    than ``_BOUND_CELLS`` sentence pairs). ``None`` without the compiled kernels."""
    native = kernels()
    if native is None:
        return None
    n_a, n_b, *values = native.stored_reach(blob_a, blob_b, min_ratio, min_overlap, 1.0 - _SLACK, _BOUND_CELLS)
    copies = tuple(values[:4]) if n_a and n_b and n_a * n_b <= _BOUND_CELLS else None
    return StoredReach(n_a, n_b, copies, tuple(values[4:]))  # type: ignore[arg-type]


def stored_reach_many(blobs: list[bytes], pa: np.ndarray, pb: np.ndarray, min_ratio: float,
                      min_overlap: float) -> np.ndarray | None:
    """:func:`stored_reach` of the pairs ``blobs[pa[k]]``, ``blobs[pb[k]]`` in one call (each blob
    parsed once): a row of 10 values a pair, ``n_a``, ``n_b``, the copy bound's 4 values (zeros
    where :func:`stored_reach` gives ``None``) and the content bound's 4. ``None`` without the
    compiled kernels."""
    native = kernels()
    if native is None:
        return None
    out = np.empty((len(pa), 10), dtype=np.float64)
    native.stored_reach_many(blobs, np.ascontiguousarray(pa, dtype=np.int64), np.ascontiguousarray(pb, dtype=np.int64),
                             min_ratio, min_overlap, 1.0 - _SLACK, _BOUND_CELLS, out)
    return out


def copies_bounded(n_a: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """Where :func:`stored_reach` computes a copy bound (``copies`` not ``None``), by the sentences
    of both texts."""
    return (n_a > 0) & (n_b > 0) & (n_a * n_b <= _BOUND_CELLS)


def shares_of(reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_shares` of many bounds (rows of 4 values), the same floating-point operations."""
    reached_a, total_a, reached_b, total_b = reach.T
    with np.errstate(divide="ignore", invalid="ignore"):
        share_a = np.where(total_a != 0, reached_a / total_a * (1.0 + _SLACK), 0.0)
        share_b = np.where(total_b != 0, reached_b / total_b * (1.0 + _SLACK), 0.0)
    return share_a, share_b


def _shares(reached_a: float, total_a: float, reached_b: float, total_b: float) -> tuple[float, float]:
    """The coverage bound of each text from what is within reach and its total (0 for an empty
    text), a little over (slack for rounding)."""
    return (reached_a / total_a * (1.0 + _SLACK) if total_a else 0.0,
            reached_b / total_b * (1.0 + _SLACK) if total_b else 0.0)


def _content_reach(a: Sentences, b: Sentences, min_overlap: float) -> tuple[float, float, float, float]:
    """The content weight of each text's sentences within reach of an alignment at ``min_overlap``
    (see :func:`align_content_reaching`; the comparison is made with slack for rounding), and its
    total content weight. Compiled where the kernels are."""
    wa, wb = a.words, b.words
    idf = _idf_table(len(a) + len(b))
    native = kernels()
    if native is not None:
        (keys_a, order_a), (keys_b, order_b) = wa.index, wb.index
        result: tuple[float, float, float, float] = native.content_reach(
            keys_a, order_a, wa.df, wa.rows, wa.cols, len(a), keys_b, order_b, wb.df, wb.rows, wb.cols, len(b),
            idf, min_overlap, 1.0 - _SLACK)
        return result
    n_words, df, b_ids = _joint_words(a, b)
    weight = idf[df]
    in_b = np.zeros(n_words, dtype=bool)
    in_b[b_ids] = True
    in_a = np.zeros(n_words, dtype=bool)
    in_a[: len(wa.vocab)] = True
    return (*_reachable(wa.rows, wa.cols, len(a), weight, in_b, min_overlap),
            *_reachable(wb.rows, b_ids[wb.cols], len(b), weight, in_a, min_overlap))


def _reachable(rows: np.ndarray, cols: np.ndarray, n_sentences: int, weight: np.ndarray, in_other: np.ndarray,
               min_overlap: float) -> tuple[float, float]:
    total = np.bincount(rows, weights=weight[cols], minlength=n_sentences)
    shared = np.bincount(rows, weights=weight[cols] * in_other[cols], minlength=n_sentences)
    reachable = shared * (2.0 - min_overlap) >= min_overlap * total * (1.0 - _SLACK)
    return float(total[reachable].sum()), float(total.sum())


def _align_content_dense(ma: np.ndarray, mb: np.ndarray, weight: np.ndarray, min_overlap: float,
                         splits: bool) -> Alignment:
    """:func:`align_content` for texts of usual size (incidence matrices ``ma``, ``mb``): the same
    arithmetic on dense arrays, which costs a fraction of sparse matrices for a few dozen sentences."""
    wa, wb = ma @ weight, mb @ weight
    shared = (ma * weight) @ mb.T
    denom = wa[:, None] + wb[None, :]
    dice = np.where(denom > 0, 2.0 * shared / np.where(denom > 0, denom, 1.0), 0.0)
    rows, cols = np.nonzero((shared > 0) & (dice >= min_overlap))
    return _finish(rows.astype(np.int64), cols.astype(np.int64), dice[rows, cols], wa, wb, splits)
