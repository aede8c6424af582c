"""The registry of boilerplate rules used by :class:`dedupe.clean.Cleaner`.

Every rule has a name, a one-line description and a function from a line with its
context (:class:`LineContext`) to a verdict: ``True`` means "this line is boilerplate".
As in jusText, there are two passes:

* ``line`` rules are context-free: they look at the text of one line only
  (phrases, patterns, shapes such as "Name | Agency, 2013").
* ``context`` rules look at neighbours, at the verdicts already given, and at the
  position of the line relative to the main text block of the document.

Rules run in registry order; the first rule that fires names the removal.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from dedupe.similarity.native import kernels, word_table

Stage = Literal["line", "context"]

# ---------------------------------------------------------------------------
# Line features
# ---------------------------------------------------------------------------
_WORD_RE = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")
_LEAD_RE = re.compile(r"[\W_]+", re.UNICODE)
_MENU_SEPARATORS = "|·•»›/"
_MENU_SPLIT_RE = re.compile(r"\s+[|·•»›/]\s+|\s*[|·•»›]\s*")
_MENU_SEPARATOR_RE = re.compile(f"[{_MENU_SEPARATORS}]")  # every match of _MENU_SPLIT_RE holds one
_SENTENCE_ENDS = (".", "!", "?", "…")
_SENTENCE_CLOSERS = "\"'”’»)]"  # may follow the final mark


def _wordset(words: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of a string (keeps word tables readable)."""
    return frozenset(words.split())


# A compact English stopword list (jusText style stopword density).
STOPWORDS: frozenset[str] = _wordset(
    """a about above after again against all also although am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    even ever every few for from further had has have having he her here hers herself him himself
    his how however i if in into is it its itself just least less many may me might more most much
    must my myself neither no nor not now of off often on once only or other others our ours
    ourselves out over own per rather said same says she should since so some such than that the
    their theirs them themselves then there these they this those though through thus to too toward
    under until up upon us very was we were what when where whether which while who whom whose why
    will with within without would yet you your yours yourself yourselves"""
)


def normalize_line(text: str) -> str:
    """Normalise a line for comparisons: case-folded, whitespace collapsed, edge punctuation dropped.

    Args:
        text: A line of text.

    Returns:
        The normalised form (may be empty for lines of punctuation only).
    """
    native = kernels()
    if native is not None:
        # On ASCII, compiled: one pass, one string made.
        folded = native.normalize_ascii_line(text)
        if folded is not None:
            return folded
    return _normalize_line_python(text)


def _normalize_line_python(text: str) -> str:
    """:func:`normalize_line` without the compiled kernel (which takes ASCII lines only)."""
    # str.split() and the regex \s agree on what is whitespace (both ask str.isspace), so the joined
    # split is the line with whitespace runs collapsed and stripped, at a third of a substitution's
    # cost. Cheaper still on the usual line: the space is the only whitespace character that
    # str.isprintable() accepts, so a printable line without a double space has nothing to collapse.
    if text.isprintable() and "  " not in text:
        folded = text.strip(" ").casefold()
    else:
        folded = " ".join(text.split()).casefold()
    # Strip the edges with two anchored matches (one on the reversed string): a search for a
    # trailing run would try every position of the line. [\W_] is exactly "not str.isalnum()", so
    # the reversed copy is made only when the last character is one to strip.
    head = _LEAD_RE.match(folded)
    if head:
        folded = folded[head.end() :]
    if folded and not folded[-1].isalnum():
        tail = _LEAD_RE.match(folded[::-1])
        if tail:
            folded = folded[: len(folded) - tail.end()]
    return folded


# ASCII characters that are neither word characters (\w is exactly str.isalnum() or "_") nor
# apostrophes, all mapped to spaces.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not (c.isalnum() or c in "_'")})


def _ascii_words(text: str) -> list[str]:
    """``_WORD_RE.findall(text)`` for an ASCII text, with string methods in half the time of the regex.

    On ASCII a word is a run of ``[A-Za-z0-9_]`` and single apostrophes inside it ("don't"). Every
    other character becomes a space. Of a run of apostrophes, each pair becomes a space (two never
    join words) and a last lone one is left; a lone apostrophe next to a space or an end of the
    line then goes, so those left sit between word characters and join them, as in the regex.
    """
    spaced = text.translate(_ASCII_SEPARATORS)
    if "'" in spaced:
        spaced = (" " + spaced.replace("''", " ") + " ").replace(" '", " ").replace("' ", " ")
    return spaced.split()


class _LineShape:
    """The shape predicates of a line (prose, sentence, ...), from its word count, stopword
    density and sentence ending: shared by :class:`LineFeatures` and :class:`LineInfo`."""

    __slots__ = ()

    n_words: int
    stop_density: float
    ends_sentence: bool

    @property
    def is_prose(self) -> bool:
        """Whether the line reads like running English prose (jusText's "good" block)."""
        n = self.n_words
        if n < 8:
            return False
        if not self.ends_sentence:
            # Long unpunctuated lines are mostly menus and link lists run together.
            return n >= 15 and self.stop_density >= 0.3
        # Long sentences full of names (datelines, company boilerplate) have fewer stopwords.
        return self.stop_density >= (0.12 if n >= 30 else 0.2)

    @property
    def is_sentence(self) -> bool:
        """Whether the line is a short sentence ("No charges have been laid.")."""
        return 3 <= self.n_words < 8 and self.ends_sentence and self.stop_density >= 0.15

    @property
    def is_body_text(self) -> bool:
        """Whether the line is article text in an extractor's output: prose, or a sentence of
        8 or more words whatever its stopwords (ledes full of names: "Minnesota Wild forward ...")."""
        return self.is_prose or (self.n_words >= 8 and self.ends_sentence)

    @property
    def is_short(self) -> bool:
        """Whether the line is short and not a sentence (menu items, labels, headings)."""
        return self.n_words <= 6 and not (self.ends_sentence and self.n_words >= 4)


class LineFeatures(_LineShape):
    """The features of a line's text, shared by every line with that text (see :func:`line_features`).

    The word count, stopword density, sentence ending and normalised form are computed at once: the
    cleaner needs them on every line (:attr:`LineInfo.is_prose`; rules on every line compare the
    normalised form). The words are made on first use, as most lines never need them: most rules
    give up on a long line after its word count.

    Attributes:
        text: The line.
        folded_words: The case-folded words (``\\w+`` runs, apostrophes kept inside words).
        n_words: Number of words.
        stop_density: Share of words that are English stopwords.
        ends_sentence: Whether the line ends with sentence-final punctuation.
        norm: :func:`normalize_line` of the text.
        line_verdict: ``(key, rule name or None)`` from the last context-free pass over this text,
            kept for :class:`dedupe.clean.Cleaner`: line rules look at nothing but the text and
            the cleaner's settings, which ``key`` stands for. ``None`` until a pass has run.
    """

    __slots__ = (
        "_folded",
        "_lowered",
        "_words",
        "ends_sentence",
        "line_verdict",
        "n_words",
        "norm",
        "stop_density",
        "text",
    )

    text: str
    n_words: int
    stop_density: float
    ends_sentence: bool
    norm: str
    line_verdict: tuple[object, str | None] | None

    def __init__(self, text: str, stats: tuple[int, int, bool, str | None] | None = None) -> None:
        """``stats``: the compiled ``line_stats`` of ``text``, if the caller has them (``doc_lines``
        counts every line of a text in one call)."""
        self.text = text
        self.line_verdict = None
        self._lowered: str | None = None
        self._words: tuple[str, ...] | None = None
        self._folded: tuple[str, ...] | None = None
        # Counted in one compiled pass, without a string per word: the words themselves are made
        # only if a rule asks for them (most lines are prose that none asks about); the sentence ending
        # and the normalised line (which most rules read) come from the same call. The kernel counts
        # any line whose non-ASCII characters are not word characters (curly quotes, dashes, "£");
        # it leaves lines with non-ASCII words (None), whose case-folding is Python's, to Python, and
        # normalises ASCII lines only.
        if stats is None:
            native = kernels()
            if native is not None:
                stats = native.line_stats(word_table(native, STOPWORDS), text)
        if stats is not None:
            n, stops, self.ends_sentence, norm = stats
            self.norm = normalize_line(text) if norm is None else norm
        else:
            folded = self.folded_words
            n, stops = len(folded), sum(map(STOPWORDS.__contains__, folded))
            # The line ends with one of .!?… followed by nothing but closing quotes and brackets (the
            # two sets are disjoint, so stripping every closer leaves that mark last).
            self.ends_sentence = text.rstrip().rstrip(_SENTENCE_CLOSERS).endswith(_SENTENCE_ENDS)
            self.norm = normalize_line(text)
        self.n_words = n
        self.stop_density = stops / n if n else 0.0

    @property
    def folded_words(self) -> tuple[str, ...]:
        """The case-folded words (computed on first use for most lines)."""
        if self._folded is None:
            if self.text.isascii():
                # On ASCII, lower() is casefold() and maps word characters to word characters one for
                # one, so the words of the lowered line are the case-folded words: no per-word casefold.
                self._folded = tuple(_ascii_words(self._lowered or self.text.lower()))
            else:
                # Elsewhere folding can change a line's words ("İ" folds to "i" and a combining
                # dot): fold word by word.
                self._folded = tuple(map(str.casefold, self.words))
        return self._folded

    @property
    def words(self) -> tuple[str, ...]:
        """The words as written (computed on first use for ASCII lines)."""
        if self._words is None:
            self._words = tuple(_WORD_RE.findall(self.text))
        return self._words

    def may_contain(self, hints: tuple[str, ...]) -> bool:
        """Whether the text may contain one of ``hints`` (lower-case ASCII) in any letter case.

        A cheap necessary condition for a case-insensitive regex every match of which contains
        one of the hints, checked before the regex's search of the whole line. It is exact on
        ASCII lines only: ``re.IGNORECASE`` also matches some other letters to ASCII ones ("ſ" to
        "s", the Kelvin sign to "k"), so on other lines the answer is always yes and the regex decides.
        """
        if self._lowered is None:
            if not self.text.isascii():
                return True
            self._lowered = self.text.lower()
        lowered = self._lowered
        # A loop rather than any(): no generator to make, on a check made for most lines.
        for hint in hints:  # noqa: SIM110
            if hint in lowered:
                return True
        return False


# Short lines (boilerplate, repeated across passes and documents) are cached by the thousand; longer
# ones (paragraphs of prose, mostly seen in one document only) a few at a time, enough for the passes
# over one document: 65,536 cached paragraphs with their word tuples hold about 500 MB per process
# (measured in scan's workers on news), and one-line articles would take gigabytes. Huge lines are
# not cached.
_SHORT_LINE_CHARS = 256
_LONG_LINE_CHARS = 100_000


def line_features(text: str) -> LineFeatures:
    """The features of a line's text (cached, see above)."""
    if len(text) <= _SHORT_LINE_CHARS:
        return _cached_line_features(text)
    if len(text) <= _LONG_LINE_CHARS:
        return _cached_long_line_features(text)
    return LineFeatures(text)


@lru_cache(maxsize=256)
def _cached_long_line_features(text: str) -> LineFeatures:
    return LineFeatures(text)


@lru_cache(maxsize=1 << 16)
def _cached_line_features(text: str) -> LineFeatures:
    """Features of a short line, cached: the cleaner looks at the same lines in several passes
    and the recurring-line count sees them once more."""
    return LineFeatures(text)


class LineInfo(_LineShape):
    """A non-blank line of a document with the features the rules use.

    Attributes:
        number: 1-based line number in the original text.
        text: The line as read (without its line ending).
        n_words: Number of words.
        stop_density: Share of words that are English stopwords.
        ends_sentence: Whether the line ends with sentence-final punctuation.
        norm: :func:`normalize_line` of the text.
        features: The features of the text, shared with other lines of the same text.
    """

    # The features every rule reads are copied into slots (an attribute read, not a property call);
    # the others are read through ``features``, which computes them once per distinct text.
    __slots__ = ("ends_sentence", "features", "n_words", "norm", "number", "stop_density", "text")

    number: int
    text: str
    n_words: int
    stop_density: float
    ends_sentence: bool
    norm: str
    features: LineFeatures

    def __init__(self, number: int, features: LineFeatures) -> None:
        self.number = number
        self.features = features
        self.text = features.text
        self.n_words = features.n_words
        self.stop_density = features.stop_density
        self.ends_sentence = features.ends_sentence
        self.norm = features.norm

    @classmethod
    def from_text(cls, number: int, text: str) -> LineInfo:
        """Compute the features of one line.

        Args:
            number: 1-based line number in the original text.
            text: The line (non-blank).

        Returns:
            The line with its features.
        """
        return cls(number, line_features(text))

    def __repr__(self) -> str:
        return f"LineInfo(number={self.number!r}, text={self.text!r})"

    @property
    def words(self) -> tuple[str, ...]:
        """The words (``\\w+`` runs, apostrophes kept inside words)."""
        return self.features.words

    @property
    def folded_words(self) -> tuple[str, ...]:
        """The case-folded words."""
        return self.features.folded_words

    def may_contain(self, hints: tuple[str, ...]) -> bool:
        """See :meth:`LineFeatures.may_contain`."""
        return self.features.may_contain(hints)


@dataclass
class LineContext:
    """A line together with everything context rules may look at.

    Attributes:
        lines: The non-blank lines of the document, in order.
        pos: Position of the current line in ``lines``.
        verdicts: Rule name per line for lines already judged as boilerplate, else ``None``.
            In the context pass, entries before ``pos`` are final; entries after ``pos``
            hold the context-free verdicts.
        body: ``(first, last)`` positions of the main text block, or ``None`` if there is none.
        headline: Position of the line taken as the headline, or ``None``.
        english: Whether the document is in English (English-only rules fire only then).
        recurring: Normalised lines that recur across the batch.
        phrases: Normalised user phrases.
        patterns: Compiled user patterns.
        extracted: The text is an extractor's output (``Cleaner.clean(..., extracted=True)``).
        line: The line being judged, ``lines[pos]`` (set with ``pos`` by :meth:`at`).
    """

    lines: Sequence[LineInfo]
    pos: int
    verdicts: list[str | None]
    body: tuple[int, int] | None = None
    headline: int | None = None
    english: bool = True
    recurring: frozenset[str] = frozenset()
    phrases: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = field(default_factory=tuple)
    extracted: bool = False
    earlier: KeptParagraphs | None = field(default=None, repr=False)
    may_repeat: bool | None = field(default=None, repr=False)  # see repeated_paragraph
    # The line being judged, ``lines[pos]``: an attribute rather than a property, as rules read it
    # several times a line (:meth:`at` moves both; the cleaner's loops set both themselves).
    line: LineInfo = field(init=False, repr=False)

    def kept_paragraphs(self) -> KeptParagraphs:
        """The kept lines before ``pos`` that :func:`repeated_paragraph` compares with, indexed.

        Built incrementally as ``pos`` advances (entries before ``pos`` are final in a context
        pass); :meth:`dedupe.clean.Cleaner` drops it at the start of every pass.
        """
        if self.earlier is None or self.earlier.upto > self.pos:
            self.earlier = KeptParagraphs()
        self.earlier.extend(self.lines, self.verdicts, self.pos)
        return self.earlier

    def __post_init__(self) -> None:
        if self.lines:
            self.line = self.lines[self.pos]

    def at(self, pos: int) -> None:
        """Move to the line at ``pos`` (``pos`` and ``line`` together)."""
        self.pos = pos
        self.line = self.lines[pos]

    def neighbour(self, offset: int) -> LineInfo | None:
        """The non-blank line ``offset`` positions away, or ``None`` past either end."""
        i = self.pos + offset
        return self.lines[i] if 0 <= i < len(self.lines) else None

    def removed(self, offset: int) -> bool:
        """Whether the line ``offset`` positions away has a boilerplate verdict (``True`` past the ends)."""
        i = self.pos + offset
        if not 0 <= i < len(self.lines):
            return True
        return self.verdicts[i] is not None

    def adjacent(self, offset: int) -> bool:
        """Whether the neighbour ``offset`` (+1 or -1) directly touches this line (no blank line between)."""
        other = self.neighbour(offset)
        return other is not None and abs(other.number - self.line.number) == 1


_LEDE_KEY = 16  # a lede (8+ words and a final stop) is at least this many characters long
REPEAT_MIN_WORDS = 6  # repeated_paragraph looks at lines of this many words or more


class KeptParagraphs:
    """The kept lines of 6+ words before a position, indexed for :func:`repeated_paragraph`.

    Comparing each line with every earlier one would be quadratic in the number of lines; here a
    repeat is a set lookup, and a repeated lede is looked up by the line's first characters and
    the lengths of the ledes that start with them.
    """

    def __init__(self) -> None:
        self.upto = 0
        self.norms: set[str] = set()
        self.ledes: dict[str, dict[int, set[str]]] = {}

    def extend(self, lines: Sequence[LineInfo], verdicts: Sequence[str | None], pos: int) -> None:
        """Index the lines before ``pos`` not yet indexed (kept ones only)."""
        for i in range(self.upto, pos):
            earlier = lines[i]
            if verdicts[i] is not None or earlier.n_words < REPEAT_MIN_WORDS:
                continue
            self.norms.add(earlier.norm)
            if earlier.ends_sentence and earlier.n_words >= 8:
                text = earlier.text.strip()
                self.ledes.setdefault(text[:_LEDE_KEY], {}).setdefault(len(text), set()).add(text)
        self.upto = max(self.upto, pos)

    def repeats(self, line: LineInfo) -> bool:
        """Whether ``line`` repeats an indexed line, or starts with an indexed lede and a space."""
        if line.norm in self.norms:
            return True
        text = line.text.strip()
        by_length = self.ledes.get(text[:_LEDE_KEY])
        if not by_length:
            return False
        return any(
            len(text) > n and text[n] == " " and text[:n] in ledes for n, ledes in by_length.items()
        )


@dataclass(frozen=True)
class Screen:
    """A cheap necessary condition for a line rule to fire, checked before the rule is called.

    The rule fires on a line only if the line has one of the properties listed (an empty field lists
    none). The cleaner joins the screens of its line rules (:meth:`join`) and, on a line that has none
    of the joined properties, calls none of them: most lines of an article are long prose, on which
    every rule would run its patterns to find nothing (the screen is checked compiled, in the pass
    that counts the words, see :class:`dedupe.clean.Cleaner`). The properties are read on lines without
    non-ASCII word characters only (others always go to the rules); there ``re.IGNORECASE`` matches an
    ASCII letter with ASCII letters only (its other equivalents, "ſ" or the Kelvin sign, are word
    characters), so a case-insensitive hint needs only ASCII case folding.

    Attributes:
        words: The line has at most this many words (:attr:`LineFeatures.n_words`).
        alnum: The line has at most this many letters and digits: every one of them is in its
            normalised form, so a pattern that must match the whole normalised line, and matches at
            most ``alnum`` characters, is screened by it.
        chars: The line holds one of these characters.
        hints: The line holds one of these, in any letter case (lower-case; ASCII letters).
        cased: The line holds one of these as written.
        unended: The line does not end a sentence and holds one of these characters.
        capitals: The line, less leading whitespace, starts with two capital letters ``A-Z``.
        starts: The stripped line starts with one of these, in any letter case (lower-case).
        head, head_chars: One of ``head_chars`` is among the first ``head`` characters of the
            stripped line.
        ends: The stripped line ends with one of these characters.
        lead: The line's first run of ASCII letters and digits, lower-cased, starts with one of these (a
            pattern matching the normalised line from its start, see :func:`_leads`: the normalised line
            starts with that run).
        first_words: The line's first run of ASCII letters and digits, lower-cased, is one of these.
    """

    words: int = 0
    alnum: int = 0
    chars: str = ""
    hints: tuple[str, ...] = ()
    cased: tuple[str, ...] = ()
    unended: str = ""
    capitals: bool = False
    starts: tuple[str, ...] = ()
    head: int = 0
    head_chars: str = ""
    ends: str = ""
    lead: tuple[str, ...] = ()
    first_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # What the compiled screen assumes (and a screen means): counts not negative, no empty string
        # (it would match every line), case-insensitive strings in lower case, first words made of
        # letters and digits, at most 65,535 strings of a kind.
        strings = (self.hints, self.cased, self.starts, self.lead, self.first_words)
        if min(self.words, self.alnum, self.head) < 0 or any(len(s) > 65535 or "" in s for s in strings):
            raise ValueError(f"bad screen: {self!r}")
        lower = (*self.hints, *self.starts, *self.lead, *self.first_words)
        if any(h != h.translate(_ASCII_LOWER) for h in lower):
            raise ValueError("screen hints, starts, leads and first words are lower-case")
        if not all(w.isascii() and w.isalnum() for w in self.first_words):
            raise ValueError("screen first words are ASCII letters and digits")

    @staticmethod
    def join(screens: Iterable[Screen]) -> Screen:
        """The screen that lets through every line one of ``screens`` lets through."""
        screens = list(screens)

        def union(strings: Iterable[str]) -> tuple[str, ...]:
            return tuple(sorted(set(strings)))

        return Screen(
            words=max((s.words for s in screens), default=0),
            alnum=max((s.alnum for s in screens), default=0),
            chars="".join(union(c for s in screens for c in s.chars)),
            hints=union(h for s in screens for h in s.hints),
            cased=union(h for s in screens for h in s.cased),
            unended="".join(union(c for s in screens for c in s.unended)),
            capitals=any(s.capitals for s in screens),
            starts=union(h for s in screens for h in s.starts),
            head=max((s.head for s in screens if s.head_chars), default=0),
            head_chars="".join(union(c for s in screens for c in s.head_chars)),
            ends="".join(union(c for s in screens for c in s.ends)),
            lead=union(h for s in screens for h in s.lead),
            first_words=union(h for s in screens for h in s.first_words),
        )

    def lets_through(self, text: str, n_words: int, ends_sentence: bool) -> bool:
        """Whether the rules screened must be called on a line: it has one of the properties, or
        non-ASCII word characters. The compiled ``doc_lines`` decides the same."""
        if n_words <= self.words:
            return True
        if not text.isascii() and any(c.isalnum() for c in text if not c.isascii()):
            return True  # words that fold otherwise: left to the rules
        if self.alnum and sum(1 for c in text if c.isascii() and c.isalnum()) <= self.alnum:
            return True
        if self.chars and any(c in text for c in self.chars):
            return True
        if self.unended and not ends_sentence and any(c in text for c in self.unended):
            return True
        stripped = text.strip()
        if self.capitals and len(stripped) >= 2 and all("A" <= c <= "Z" for c in stripped[:2]):
            return True
        if self.starts and stripped.translate(_ASCII_LOWER).startswith(self.starts):
            return True
        if any(c in self.head_chars for c in stripped[: self.head]):
            return True
        if stripped and stripped[-1] in self.ends:
            return True
        if self.lead or self.first_words:
            run = _FIRST_RUN.search(text)
            if run is not None:
                first = run.group().translate(_ASCII_LOWER)
                if first.startswith(self.lead) or first in self.first_words:
                    return True
        if any(h in text for h in self.cased):
            return True
        if self.hints:
            lowered = text.translate(_ASCII_LOWER)
            return any(h in lowered for h in self.hints)
        return False

    def as_tuple(self) -> tuple[Any, ...]:
        """The screen as the compiled ``doc_lines`` takes it."""
        return (self.words, self.alnum, self.chars, self.hints, self.cased, self.unended, self.capitals,
                self.starts, self.head, self.head_chars, self.ends, self.lead, self.first_words)


class ScreenTiers:
    """The joined screens of some line rules (:meth:`Screen.join`), by the length of the line: a line of
    ``n`` words is screened by the rules that may fire on it, those whose ``max_words`` is ``n`` or more
    (a rule's screen says nothing of the longer lines it never fires on). A rule without a screen is
    screened by its word limit; one with neither is not screened (the cleaner tries it on every line)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        rules = [r for r in rules if r.screen is not None or r.max_words is not None]
        self.limits = tuple(sorted({r.max_words for r in rules if r.max_words is not None}))

        def join(n_words: int) -> Screen:
            return Screen.join(
                r.screen or Screen(words=r.max_words or 0)
                for r in rules if r.max_words is None or r.max_words >= n_words
            )

        self.screens = (*(join(limit) for limit in self.limits), join(sys.maxsize))
        self.tuples = tuple(screen.as_tuple() for screen in self.screens)

    def screen_for(self, n_words: int) -> Screen:
        """The screen of lines of ``n_words`` words."""
        return self.screens[bisect_left(self.limits, n_words)]

    def lets_through(self, text: str, n_words: int, ends_sentence: bool) -> bool:
        """:meth:`Screen.lets_through` of the line's screen."""
        return self.screen_for(n_words).lets_through(text, n_words, ends_sentence)


_FIRST_RUN = re.compile(r"[A-Za-z0-9]+")
# ASCII upper-case letters to lower-case, and nothing else (str.lower() also changes other letters).
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


@dataclass(frozen=True)
class Rule:
    """A named boilerplate rule.

    Attributes:
        name: Short snake_case name shown by ``--explain`` and used in rules files.
        description: One line saying what the rule removes.
        stage: ``"line"`` (context-free pass) or ``"context"`` (second pass).
        check: Function from a line with its context to a verdict (``True`` = boilerplate).
        english_only: If true, the rule fires only on English documents.
        uses_block: For context rules: whether the rule needs the main block and headline.
            Context rules that do not run before the block is found, so that the lines
            they remove (embed captions, photo alt text) cannot be taken for the headline.
        max_words: For line rules: the rule never fires on a line of more words (its check
            returns ``False`` there), so the cleaner does not call it on such lines: on a long
            prose line most rules would only compare the word count. ``None``: no limit.
        needs: For context rules that run before the main block is found: the rule fires only next
            to a line that one of these rules removed (a caption under an embed), so the cleaner
            does not run it on a document where none did (most documents). ``None``: always run.
        screen: For line rules: a necessary condition for the rule to fire (:class:`Screen`), so
            the cleaner calls it only on lines that meet it. ``None``: none beyond ``max_words``.
    """

    name: str
    description: str
    stage: Stage
    check: Callable[[LineContext], bool]
    english_only: bool = False
    uses_block: bool = False
    max_words: int | None = None
    needs: frozenset[str] | None = None
    screen: Screen | None = None


# ---------------------------------------------------------------------------
# Phrase tables (English)
# ---------------------------------------------------------------------------
def _exact(*phrases: str) -> re.Pattern[str]:
    """A regex matching a whole normalised line against any of the phrases (themselves regexes)."""
    return re.compile(r"^(?:" + "|".join(phrases) + r")$")


def _longest_match(pattern: re.Pattern[str]) -> int:
    """The length of the longest string ``pattern`` can match, as the regex parser measures it
    (``sys.maxsize`` when unbounded or when the parser cannot be asked): a longer line is refused
    by its length, not by trying the alternatives (most lines are prose, far longer)."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import sre_parse as parser
        except ImportError:
            return sys.maxsize
    longest = int(parser.parse(pattern.pattern, pattern.flags).getwidth()[1])
    return longest if longest < parser.MAXREPEAT else sys.maxsize


def _leads(pattern: re.Pattern[str], normalised: bool = True, size: int = 6) -> tuple[str, ...]:
    """What every match of ``pattern`` starts with, for :attr:`Screen.lead` or :attr:`Screen.starts`: the
    possible first letters and digits (lower-cased) of a match, up to ``size`` of them or to the first
    other character, read from the regex parser's tree (the parts it cannot enumerate cut a prefix short,
    which keeps it a prefix of every match).

    ``normalised``: the pattern matches a normalised line at its start (:func:`normalize_line`, which
    starts with a letter or digit), so alternatives that start with another character never match and
    are left out; otherwise (a stripped line) the pattern must start with a letter or digit. Raises
    ``ValueError`` when some match may start otherwise, or be empty (nothing to screen with)."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as parser  # type: ignore[attr-defined]

    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT))
    leads: set[str] = set()

    def chars_of(items: list[Any]) -> list[str] | None:
        """The characters of a class, when it is a few literals and ranges (else None)."""
        out: list[str] = []
        for op, av in items:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.RANGE and av[1] - av[0] < 10:
                out += [chr(x) for x in range(av[0], av[1] + 1)]
            elif op is c.CATEGORY and av is c.CATEGORY_DIGIT:
                out += "0123456789"  # and other digits: word characters, which lines screened have none of
            else:
                return None
        return out

    def end(prefix: str) -> None:
        if not prefix:
            raise ValueError(f"a match of {pattern.pattern!r} may start with anything")
        leads.add(prefix)

    def walk(stack: list[list[Any]], prefix: str) -> None:
        stack = [items for items in stack if items]
        if len(prefix) == size or not stack:
            return end(prefix)
        (op, av), rest = stack[-1][0], [*stack[:-1], stack[-1][1:]]
        if op is c.AT:
            walk(rest, prefix)
        elif op is c.SUBPATTERN:
            walk([*rest, list(av[-1])], prefix)
        elif op is c.BRANCH:
            for alternative in av[1]:
                walk([*rest, list(alternative)], prefix)
        elif op in repeats:
            lo, hi, sub = av
            if lo == 0:
                walk(rest, prefix)
            if hi > 0:
                again = (op, (max(lo - 1, 0), hi if hi == c.MAXREPEAT else hi - 1, sub))
                walk([*rest, [again], list(sub)], prefix)
        elif op is c.LITERAL or op is c.IN:
            chars = [chr(av)] if op is c.LITERAL else chars_of(av)
            if chars is None or len(chars) > 10 or len(chars) > 3 and prefix:
                return end(prefix)  # a broad class: cut here (a class of digits: one of them at most)
            for ch in chars:
                ch = ch.lower() if ch.isascii() else ch
                if ch.isascii() and ch.isalnum():
                    walk(rest, prefix + ch)
                elif prefix or not normalised:
                    end(prefix)
                # else: a match starting with this character never matches a normalised line
        else:
            end(prefix)

    walk([list(parser.parse(pattern.pattern, pattern.flags))], "")
    return tuple(sorted(x for x in leads if not any(x != y and x.startswith(y) for y in leads)))


def _matches(pattern: re.Pattern[str], alnum_only: bool = False, most: int = 1000) -> tuple[str, ...]:
    """Every string ``pattern`` matches (lower-cased on ASCII), when they are a few (at most ``most``),
    read from the regex parser's tree; ``alnum_only``: only those made of ASCII letters and digits.
    Raises ``ValueError`` when there are more, or a part the tree cannot enumerate."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as parser  # type: ignore[attr-defined]

    def of(items: list[Any]) -> set[str]:
        out = {""}
        for op, av in items:
            if op is c.AT:
                continue
            if op is c.LITERAL:
                part = {chr(av)}
            elif op is c.IN and all(o is c.LITERAL for o, _ in av):
                part = {chr(a) for _, a in av}
            elif op is c.SUBPATTERN:
                part = of(list(av[-1]))
            elif op is c.BRANCH:
                part = set().union(*(of(list(alt)) for alt in av[1]))
            elif op is c.MAX_REPEAT and av[1] != c.MAXREPEAT:
                lo, hi, sub = av
                once = of(list(sub))
                part, grown = ({""} if lo == 0 else set()), {""}
                for n in range(1, hi + 1):
                    grown = {a + b for a in grown for b in once}
                    if n >= lo:
                        part |= grown
            else:
                raise ValueError(f"{pattern.pattern!r}: cannot enumerate {op}")
            out = {a + b for a in out for b in part}
            if len(out) > most:
                raise ValueError(f"{pattern.pattern!r} matches more than {most} strings")
        return out

    found = {m.lower() if m.isascii() else m for m in of(list(parser.parse(pattern.pattern, pattern.flags)))}
    return tuple(sorted(m for m in found if not alnum_only or (m.isascii() and m.isalnum())))


_AD_LABEL = _exact(
    r"advertisements?",
    r"advertising",
    r"advertisement feature",
    r"ads?",
    r"adchoices",
    r"ad choices",
    r"ad feedback",
    r"report (?:this )?ad",
    r"remove ads",
    r"sponsored(?: content| links?| stories| posts?| by .{1,40})?",
    r"paid (?:content|post|partner content)",
    r"promoted(?: content| stories| links?| by .{1,40})?",
    r"partner content",
    r"(?:story|article|text|content) continues (?:below|after)(?: this| the)? (?:advertisement|ad)",
    r"continue reading (?:below|the main story|after (?:the )?(?:advertisement|ad))",
    r"scroll (?:down )?to continue(?: reading)?",
    r"skip (?:this )?ad",
)

_AD_LABEL_LONGEST = _longest_match(_AD_LABEL)

_MEDIA_PREFIX = re.compile(
    r"^(?:click to play video|play video|watch(?: the)? video|video|watch|photo insert|photos?|image|"
    r"picture|photograph|gallery|slideshow|graphic|infographic|audio|listen|file photo|"
    r"(?:photo|image|picture) (?:credit|source|courtesy)|credit|courtesy)\s*[:：]",
    re.IGNORECASE,
)
_MEDIA_EXACT = _exact(
    r"(?:click|tap) (?:here )?to (?:enlarge|play|watch|view)(?: (?:image|photo|video|gallery))?",
    r"enlarge(?: this)? (?:image|photo|picture)",
    r"view (?:photo )?gallery",
    r"view (?:larger|full size)(?: image| photo)?",
    r"(?:\d+ )?(?:more )?(?:photos|images|videos)",
    r"play(?: video)?",
    r"watch video",
    r"video",
    r"photo",
    r"image",
    r"now playing",
    r"replay",
    r"full screen",
)
_PHOTO_WORDS = ("Photo", "Image", "Picture")
_PHOTO_BY_AGENCY = re.compile(
    rf"^\(?(?:AP|AFP|Reuters|EPA|Getty Images)?\s*(?:{'|'.join(_PHOTO_WORDS)})s?\s*(?:by|:|/)"
)
_PHOTO_BY = re.compile(r"^(?:photo|image|picture)s? (?:by|courtesy of)\b", re.IGNORECASE)
_CREDIT_WORDS = re.compile(
    r"\b(?:getty|reuters|afp|ap|associated press|epa|shutterstock|istock(?:photo)?|alamy|"
    r"wikimedia|creative commons|flickr|photo|photos|photographer|image|images|pool|"
    r"courtesy|staff)\b|©|/|\b(?:19|20)\d\d$",
    re.IGNORECASE,
)

_NEWSLETTER = re.compile(
    r"delivered (?:straight |directly |right )?to your inbox|in your inbox|"
    r"by providing your email|by (?:signing up|subscribing|clicking (?:sign up|subscribe|submit))|"
    r"sign up (?:for|to) (?:our|the|receive)|subscribe (?:to|for) (?:our|the)\b.{0,40}\b(?:newsletter|"
    r"alerts|updates|email)|\bnewsletters?\b.{0,40}\b(?:sign up|subscribe|inbox|email)|"
    r"(?:sign up|subscribe)\b.{0,40}\bnewsletters?\b|enter your e-?mail|your e-?mail address|"
    r"you (?:can|may) unsubscribe|unsubscribe at any time|invalid e-?mail|"
    r"thank(?:s| you) for (?:signing up|subscribing)|terms (?:and|&) conditions and privacy policy",
    re.IGNORECASE,
)
# Every match of _NEWSLETTER contains one of these (case-insensitively): see LineFeatures.may_contain.
_NEWSLETTER_HINTS = ("inbox", "email", "e-mail", "sign up", "signing up", "subscrib", "clicking", "privacy policy")
_NEWSLETTER_TITLE = _exact(
    r"get (?:the |our )?(?:daily|weekly|breaking|latest|top|free)\b.{0,40}\b(?:news|newsletters?|updates|"
    r"alerts|headlines|stories)",
    r"(?:sign up|subscribe)(?: now| today| here)?(?: for free)?",
    r"newsletters?(?: sign ?up)?",
    r"(?:daily|weekly|free|email) newsletters?",
    r"e-?mail alerts?",
    r"(?:sign up|register|subscribe) (?:for|to) .{0,40}",
)

# Words that make up share/follow/comment/print widgets; a line made only of these is a widget.
_WIDGET_CORE = _wordset(
    """share shares shared sharing tweet tweets retweet email e-mail mail print printer printable facebook
    twitter linkedin whatsapp reddit pinterest tumblr digg delicious del icio us stumbleupon stumble
    newsvine google buzz yahoo myspace technorati furl fark mixx slashdot comment comments commenting
    bookmark bookmarks bookmarked save saved follow followers like likes recommend recommended reprint
    reprints permalink rss feed feeds instagram youtube telegram messenger flipboard x link copy copied
    sms text size font resize larger smaller increase decrease"""
)
_WIDGET_FILLER = _wordset(
    """this article story page post on to us our via with a the it and or in of for your friend friends
    view read add leave write post a an all be first more see show hide join conversation discussion
    now here login log sign up close icon button opens new window tab options a+ a- aa
    0 1 2 3 4 5 6 7 8 9 10"""
)

_FURNITURE = _exact(
    r"top of (?:the )?page",
    r"bottom of (?:the )?page",
    r"(?:back|return|go|scroll) to (?:the )?top(?: of (?:the )?page)?(?: button)?",
    r"exit mobile version",
    r"(?:view|switch to) (?:the )?(?:mobile|desktop|full|classic) (?:version|site)",
    r"skip to (?:the )?(?:main )?(?:content|navigation|search|footer|article)",
    r"skip (?:navigation|links)",
    r"jump to (?:navigation|search|content)",
    r"toggle (?:navigation|menu|search)",
    r"(?:open|close|main|show|hide) (?:menu|navigation|search)",
    r"menu",
    r"main menu",
    r"navigation",
    r"search(?: for)?",
    r"search (?:this site|the site|archives?)",
    r"home(?: page)?",
    r"homepage",
    r"close",
    r"loading(?: comments)?(?:\.\.\.)?",
    r"log ?in",
    r"log ?out",
    r"sign (?:in|out)",
    r"sign in(?: to| or) .{0,30}",
    r"register",
    r"my account",
    r"(?:next|previous|prev|older|newer) (?:article|story|post|page|entry|item)s?",
    r"next",
    r"previous",
    r"you are here",
    r"breadcrumbs?",
    r"(?:site ?map|contact us|about us|privacy policy|terms of (?:use|service)|cookie policy)",
    r"all rights reserved",
    r"powered by .{1,40}",
    r"click here",
    r"(?:read|see) (?:full )?(?:article|story)",
    r"(?:read|see) more",
    r"more",
    r"continue reading",
    r"back",
    r"go",
    r"submit",
    r"cancel",
    r"ok",
    r"(?:text|font) size",
)
_FURNITURE_LONGEST = _longest_match(_FURNITURE)
_GLUED_OWNERS = ("picture", "photo", "avatar", "image", "icon", "logo", "profile")
_GLUED_BYLINE = re.compile(rf"\b(?:{'|'.join(_GLUED_OWNERS)})By\b")
_BYLINE = re.compile(
    r"^(?i:by|posted by|written by|words by|story by|report(?:ed)? by|from)\s+"
    r"(?:[A-Z][\w.'’-]*|de|van|von|and|&|,)(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|and|&|,|the|staff|"
    r"writer|reporter|correspondent|editor))*\s*[,|]?.{0,40}$"
)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)
_COPYRIGHT_HINTS = ("©", "(c)", "copyright", "all rights reserved")

_RELATED = re.compile(
    r"^(?:related(?: articles?| stories| news| links?| content| coverage| posts?| topics?| videos?"
    r"| searches)?|"
    r"recommended(?: for you| stories| articles| reading| videos?)?|"
    r"most (?:read|popular|viewed|emailed|e-mailed|commented|shared|recent|watched)(?: .{0,30})?|"
    r"more (?:stories|news|articles|videos|headlines|top stories|coverage)(?: from| on| in| about)?.{0,30}|"
    r"more on this (?:story|topic)|"
    r"you (?:may|might|will) (?:also )?(?:like|enjoy|be interested in|have missed)|"
    r"(?:see|read) also|also (?:read|see|on .{1,30})|read (?:next|more|this next)|"
    r"trending(?: now| stories| news)?|top (?:stories|news|headlines)|latest(?: news| stories| headlines)?|"
    r"popular(?: now| stories)?|editor'?s? (?:picks|choice)|"
    r"discover (?:more|news|stories)(?: about| from)?.{0,30}|"
    r"further reading|in other news|other news|what'?s (?:hot|new|popular)|don'?t miss|"
    r"(?:also )?in this section|explore more|featured(?: stories| articles)?|elsewhere on .{1,30})$"
)
_PROMO_DOMAINS = ("com", "net", "org", "co.uk", "co", "io", "info", "news", "tv", "in", "us", "uk")
_PROMO_LINK = re.compile(
    r"\b(?:visit|go to|check out|head to|log on to|download|follow us|read more at|more at)\b.{0,60}"
    rf"\b[\w-]+\.(?:{'|'.join(map(re.escape, _PROMO_DOMAINS))})\b",
    re.IGNORECASE,
)
# Every match of _PROMO_LINK holds one of these (a dot and a domain ending): the rule's screen.
_PROMO_DOMAIN_HINTS = tuple("." + d for d in _PROMO_DOMAINS)
# Every match of _PROMO_LINK contains one of these (case-insensitively): see LineFeatures.may_contain.
_PROMO_LINK_HINTS = (
    "visit",
    "go to",
    "check out",
    "head to",
    "log on to",
    "download",
    "follow us",
    "more at",
)
_PROMO_LABEL = re.compile(
    r"^(?:WEEKLY |DAILY |MONTHLY |SPECIAL |SPONSORED |PARTNER |PROMOTED |FEATURED )?"
    r"(?:FEATURE|SPONSORED|PROMOTION|PROMOTED|ADVERTORIAL|PARTNER CONTENT|SPECIAL OFFER|DEAL OF THE DAY|"
    r"PAID POST|PRESENTED BY)\s*[:|–-]"
)
_COOKIE = re.compile(
    r"\bcookies?\b.{0,80}\b(?:use|accept|consent|policy|settings|preferences|browsing|experience|agree)\b|"
    r"\b(?:use|accept|consent|policy|settings|agree)\b.{0,80}\bcookies?\b|"
    r"\bprivacy (?:policy|notice|settings)\b.{0,80}\b(?:agree|accept|consent|updated)\b",
    re.IGNORECASE,
)
_COOKIE_HINTS = ("cookie", "privacy")
_STOCK_LABEL = re.compile(r"^[A-Z][\w&'’ -]{1,30}:\s+(?P<rest>[A-Z].*)$")
_STOCK_LABEL_LONGEST = 32  # the label's colon is among the first 32 characters of the stripped line
_STOCK_PARTICIPLE = re.compile(
    r"\b(?:smiling|standing|sitting|holding|looking|reading|wearing|posing|walking|working|typing|"
    r"talking|laughing|shaking|pointing|using|waving|gesturing|isolated on)\b",
    re.IGNORECASE,
)
_FINITE_VERB = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|said|says|did|does|can|could|should|may|might)\b",
    re.IGNORECASE,
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAYS = r"mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
_DATE_WORDS = (
    _MONTHS + "|" + _DAYS + r"|a\.?m|p\.?m|gmt|utc|[ecmp][sd]?t|bst|cet|"
    r"published|updated|posted|last|modified|created|on|at|date|time|am|pm"
)
_DATE_TOKEN = re.compile(r"^(?:\d+(?:st|nd|rd|th)?|" + _DATE_WORDS + ")$", re.IGNORECASE)


# ---------------------------------------------------------------------------
# Context-free rules
# ---------------------------------------------------------------------------
def user_phrase(ctx: LineContext) -> bool:
    """A line equal to a user phrase (``phrases`` in the rules file)."""
    return bool(ctx.phrases) and ctx.line.norm in ctx.phrases  # no phrases: spare the normalisation


def user_pattern(ctx: LineContext) -> bool:
    """A line fully matching a user regular expression (``patterns`` in the rules file)."""
    if not ctx.patterns:
        return False
    text = ctx.line.text.strip()
    return any(p.fullmatch(text) for p in ctx.patterns)


def recurring_line(ctx: LineContext) -> bool:
    """A line that recurs in many documents of the batch (CCNet-style)."""
    return bool(ctx.recurring) and ctx.line.norm in ctx.recurring


def ad_label(ctx: LineContext) -> bool:
    """Ad slots and labels: "Advertisement", "Story continues below advertisement", "AdChoices"."""
    norm = ctx.line.norm
    return len(norm) <= _AD_LABEL_LONGEST and bool(_AD_LABEL.match(norm))


# The word limits of the line rules (Rule.max_words) are named: the registry declares them too.
_MEDIA_EMBED_MAX_WORDS = 40
_PHOTO_CREDIT_MAX_WORDS = 16
_STOCK_PHOTO_MAX_WORDS = 40
_NEWSLETTER_MAX_WORDS = 45
_SHARE_WIDGET_MAX_WORDS = 14
_BYLINE_MAX_WORDS = 12
_DATELINE_MAX_WORDS = 12
_RELATED_HEADING_MAX_WORDS = 8
_PROMO_MAX_WORDS = 40
_COOKIE_NOTICE_MAX_WORDS = 60
_NEWSLETTER_TITLE_MAX_WORDS = 10  # a sign-up title ("Get the daily news") is a short line


def media_embed(ctx: LineContext) -> bool:
    """Video and photo embeds: "Click to play video: '...'", "Photo Insert: ...", "Enlarge this image"."""
    line = ctx.line
    if line.n_words > _MEDIA_EMBED_MAX_WORDS:
        return False
    return bool(_MEDIA_PREFIX.match(line.text.strip()) or _MEDIA_EXACT.match(line.norm))


def photo_credit(ctx: LineContext) -> bool:
    """Photo credits: "Name | Agency/Photographer, 2013", "(AP Photo/Name)", "Photo by X/Getty Images"."""
    line = ctx.line
    text = line.text.strip()
    if line.n_words > _PHOTO_CREDIT_MAX_WORDS or line.ends_sentence and not text.endswith(")"):
        return False
    if _PHOTO_BY_AGENCY.match(text) or _PHOTO_BY.match(text):
        return True
    if "|" in text:
        last = text.rsplit("|", 1)[1].strip()
        return bool(last) and len(last.split()) <= 8 and bool(_CREDIT_WORDS.search(last))
    return False


def stock_photo(ctx: LineContext) -> bool:
    """Stock-photo descriptions: "Label: Business man in suit smiling and reading a newspaper ..."."""
    line = ctx.line
    if line.n_words > _STOCK_PHOTO_MAX_WORDS:
        return False
    m = _STOCK_LABEL.match(line.text.strip())
    if not m:
        return False
    rest = m.group("rest")
    if any(q in rest for q in '"“”'):
        return False
    return bool(_STOCK_PARTICIPLE.search(rest)) and not _FINITE_VERB.search(rest)


def newsletter(ctx: LineContext) -> bool:
    """Newsletter and sign-up blocks, including prose-like ones ("... delivered to your inbox")."""
    line = ctx.line
    if line.n_words > _NEWSLETTER_MAX_WORDS:
        return False
    if line.may_contain(_NEWSLETTER_HINTS) and _NEWSLETTER.search(line.text):
        return True
    return line.n_words <= _NEWSLETTER_TITLE_MAX_WORDS and bool(_NEWSLETTER_TITLE.match(line.norm))


def share_widget(ctx: LineContext) -> bool:
    """Share, follow, comment and print widgets: lines made only of widget words ("Share this", "Tweet")."""
    line = ctx.line
    if not line.n_words or line.n_words > _SHARE_WIDGET_MAX_WORDS:
        return False
    words = line.folded_words
    if not any(w in _WIDGET_CORE for w in words):
        return False
    return all(w in _WIDGET_CORE or w in _WIDGET_FILLER for w in words)


def page_furniture(ctx: LineContext) -> bool:
    """Navigation and page furniture: "Back to top", "Skip to content", menus, copyright, glued bylines."""
    line = ctx.line
    norm = line.norm
    if len(norm) <= _FURNITURE_LONGEST and _FURNITURE.match(norm):
        return True
    if "By" in line.text and _GLUED_BYLINE.search(line.text):  # case-sensitive: "By" is in every match
        return True
    text = line.text.strip()
    if line.n_words <= 25 and line.may_contain(_COPYRIGHT_HINTS) and _COPYRIGHT.search(text):
        return True
    # Menus rendered on one line: several short items joined by separators. Whitespace runs are
    # collapsed first: the split pattern would rescan a long run of spaces from each of its positions.
    # Without a separator character the split gives one item.
    if line.ends_sentence or not _MENU_SEPARATOR_RE.search(text):
        return False
    items = [s for s in _MENU_SPLIT_RE.split(_SPACE_RE.sub(" ", text)) if s.strip()]
    return len(items) >= 4 and all(len(s.split()) <= 3 for s in items)


def byline(ctx: LineContext) -> bool:
    """Bylines on their own line: "By Jane Doe, Staff Writer"."""
    line = ctx.line
    if line.n_words > _BYLINE_MAX_WORDS or line.ends_sentence:
        return False
    return bool(_BYLINE.match(line.text.strip()))


def dateline(ctx: LineContext) -> bool:
    """Lines made only of dates and times: "06.01.2008 01:07", "Updated: Jan. 5, 2008 3:45 p.m. ET"."""
    line = ctx.line
    if not line.n_words or line.n_words > _DATELINE_MAX_WORDS:
        return False
    if not any(map(str.isdigit, line.text)):
        return False
    return all(_DATE_TOKEN.match(w) for w in line.words)


def related_heading(ctx: LineContext) -> bool:
    """Related, recommended and most-read headings: "Related Articles", "Discover news about China"."""
    return ctx.line.n_words <= _RELATED_HEADING_MAX_WORDS and bool(_RELATED.match(ctx.line.norm))


def promo(ctx: LineContext) -> bool:
    """Promos and self-promotion: "For the latest, visit example.com!!!!", "WEEKLY FEATURE : ..."."""
    line = ctx.line
    if line.n_words > _PROMO_MAX_WORDS:
        return False
    text = line.text.strip()
    if _PROMO_LABEL.match(text):
        return True
    if line.n_words > 25:
        return False
    if text.endswith("!!!"):
        return True
    return line.may_contain(_PROMO_LINK_HINTS) and bool(_PROMO_LINK.search(text))


def cookie_notice(ctx: LineContext) -> bool:
    """Cookie and privacy notices: "This site uses cookies ... you agree to our cookie policy"."""
    line = ctx.line
    return (
        line.n_words <= _COOKIE_NOTICE_MAX_WORDS
        and line.may_contain(_COOKIE_HINTS)
        and bool(_COOKIE.search(line.text))
    )


# ---------------------------------------------------------------------------
# Context rules
# ---------------------------------------------------------------------------
# "Click to play video: 'Title'": the title runs from the first opening quote after a colon to the
# end of the line, less trailing whitespace and one closing quote (trimmed in Python: a lazy
# ".+?" before "\s*$" would rescan the rest of the line from each of its characters).
_QUOTED_TITLE = re.compile(r"""[:：]\s*['"‘“](?P<title>.+)$""")
_CLOSING_QUOTES = "'\"’”"


def quoted_title(text: str) -> str | None:
    """The quoted title after a colon in an embed line ("Click to play video: 'T'" -> "T"), if any."""
    m = _QUOTED_TITLE.search(text)
    if m is None:
        return None
    title = m.group("title")
    trimmed = title.rstrip()
    if not trimmed:
        return title[0]
    if len(trimmed) >= 2 and trimmed[-1] in _CLOSING_QUOTES:
        trimmed = trimmed[:-1]
    return trimmed


def embed_caption(ctx: LineContext) -> bool:
    """The title and caption lines printed right after a video embed ("Click to play video: 'T'")."""
    prev = ctx.neighbour(-1)
    if prev is None:
        return False
    if ctx.verdicts[ctx.pos - 1] == "media_embed":
        title = quoted_title(prev.text)
        return title is not None and normalize_line(title) == ctx.line.norm
    # The caption sits directly below the title line (no blank line between them).
    return (
        ctx.verdicts[ctx.pos - 1] == "embed_caption"
        and ctx.pos >= 2
        and ctx.verdicts[ctx.pos - 2] == "media_embed"
        and ctx.adjacent(-1)
        and ctx.line.n_words <= 80
    )


def photo_alt(ctx: LineContext) -> bool:
    """A short line directly above a photo credit or embed: the photo's alt text or caption title."""
    line = ctx.line
    if line.n_words > 8 or line.ends_sentence or not ctx.adjacent(1):
        return False
    return ctx.verdicts[ctx.pos + 1] in {"photo_credit", "media_embed"}


def sandwiched(ctx: LineContext) -> bool:
    """A short non-sentence line outside the main block between two boilerplate lines.

    Inside the block a short line between two removed lines is usually a subheading, so
    this fires only outside it (or on pages without a block, e.g. not in English).
    """
    line = ctx.line
    if line.n_words > 12 or line.ends_sentence or ctx.pos == ctx.headline:
        return False
    if ctx.body is not None and ctx.body[0] <= ctx.pos <= ctx.body[1]:
        return False
    if ctx.pos == 0 or ctx.pos == len(ctx.lines) - 1:
        return False
    return ctx.removed(-1) and ctx.removed(1)


def outside_body(ctx: LineContext) -> bool:
    """A line outside the main text block (the densest run of prose), other than the headline.

    On extracted text (``ctx.extracted``) the block is the span of the article text, and only
    lines that are not sentences are removed outside it (see :func:`dedupe.clean.cleaner.find_body_span`).

    Prose outside the block is mostly comments, teasers and promotional copy; the block
    itself tolerates short gaps (subheadings, lists), see :func:`dedupe.clean.cleaner.find_main_block`.
    """
    if ctx.body is None or ctx.pos == ctx.headline:
        return False
    first, last = ctx.body
    if first <= ctx.pos <= last:
        return False
    # In extracted text the extractor has already judged sentences to be content.
    if not ctx.extracted:
        return True
    line = ctx.line
    if line.is_body_text or line.is_sentence:
        return False
    # Above the article only short lines go (datelines, share bars, menus): a long line there
    # is a hard-wrapped paragraph or a lede, never page furniture the extractor let through.
    return ctx.pos > last or line.n_words < 8


def repeated_paragraph(ctx: LineContext) -> bool:
    """A paragraph repeated in the same text (the first occurrence is kept).

    Also a line whose leading sentences are an earlier kept line verbatim (a lede
    printed again at the top of a longer paragraph): the earlier copy is kept.
    """
    line = ctx.line
    if line.n_words < REPEAT_MIN_WORDS:
        return False
    if ctx.may_repeat is None:
        ctx.may_repeat = _may_repeat(ctx.lines)
    return ctx.may_repeat and ctx.kept_paragraphs().repeats(line)


def _may_repeat(lines: Sequence[LineInfo]) -> bool:
    """Whether any line of 6+ words (:data:`REPEAT_MIN_WORDS`) could repeat another: two of them share their normalised form
    or the first :data:`_LEDE_KEY` characters of their stripped text.

    A repeat (same normalised form) or a lede printed again (the line starts with an earlier line
    of 8+ words, at least ``_LEDE_KEY`` characters long) needs one or the other; most texts have
    neither, and are spared indexing their kept lines.
    """
    norms: set[str] = set()
    heads: set[str] = set()
    for info in lines:
        if info.n_words < REPEAT_MIN_WORDS:
            continue
        norm, head = info.norm, info.text.strip()[:_LEDE_KEY]
        if norm in norms or head in heads:
            return True
        norms.add(norm)
        heads.add(head)
    return False


RULES: tuple[Rule, ...] = (
    # -- context-free pass ---------------------------------------------------
    Rule("user_phrase", "A line equal to a phrase listed in the rules file.", "line", user_phrase),
    Rule("user_pattern", "A line fully matching a pattern listed in the rules file.", "line", user_pattern),
    Rule(
        "recurring_line",
        "A line that recurs in many documents of the batch (CCNet-style).",
        "line",
        recurring_line,
    ),
    Rule(
        "ad_label",
        "Ad slots and labels: 'Advertisement', 'Story continues below advertisement'.",
        "line",
        ad_label,
        english_only=True,
        screen=Screen(lead=_leads(_AD_LABEL)),
    ),
    Rule(
        "media_embed",
        "Video and photo embeds: 'Click to play video: ...', 'Photo Insert: ...'.",
        "line",
        media_embed,
        english_only=True,
        max_words=_MEDIA_EMBED_MAX_WORDS,
        screen=Screen(lead=_leads(_MEDIA_EXACT), starts=_leads(_MEDIA_PREFIX, normalised=False)),
    ),
    Rule(
        "photo_credit",
        "Photo credits: 'Name | Agency/Photographer, 2013', '(AP Photo/Name)'.",
        "line",
        photo_credit,
        max_words=_PHOTO_CREDIT_MAX_WORDS,
        # _PHOTO_BY_AGENCY holds a photo word as written; _PHOTO_BY starts with one; "Name | Agency"
        screen=Screen(cased=_PHOTO_WORDS, starts=_leads(_PHOTO_BY, normalised=False), chars="|"),
    ),
    Rule(
        "stock_photo",
        "Stock-photo descriptions: 'Label: Business man in suit smiling ...'.",
        "line",
        stock_photo,
        english_only=True,
        max_words=_STOCK_PHOTO_MAX_WORDS,
        screen=Screen(head=_STOCK_LABEL_LONGEST, head_chars=":"),  # _STOCK_LABEL: "Label: ..."
    ),
    Rule(
        "newsletter",
        "Newsletter and sign-up blocks, including prose-like ones ('... to your inbox').",
        "line",
        newsletter,
        english_only=True,
        max_words=_NEWSLETTER_MAX_WORDS,
        screen=Screen(hints=_NEWSLETTER_HINTS, lead=_leads(_NEWSLETTER_TITLE)),
    ),
    Rule(
        "share_widget",
        "Share, follow, comment and print widgets ('Share this', 'Tweet', 'Email').",
        "line",
        share_widget,
        english_only=True,
        max_words=_SHARE_WIDGET_MAX_WORDS,
        # every word is a widget word, the first one too (words of other characters are never words)
        screen=Screen(first_words=tuple(sorted(w for w in _WIDGET_CORE | _WIDGET_FILLER if w.isascii() and w.isalnum()))),
    ),
    Rule(
        "page_furniture",
        "Navigation and page furniture: 'Back to top', 'Skip to content', menus, (c).",
        "line",
        page_furniture,
        # the exact lines; glued bylines ("photoBy"); copyright lines; menus (no sentence, separators)
        screen=Screen(
            lead=_leads(_FURNITURE),
            cased=tuple(f"{owner}By" for owner in _GLUED_OWNERS),
            hints=_COPYRIGHT_HINTS,
            unended=_MENU_SEPARATORS,
        ),
    ),
    Rule(
        "byline",
        "Bylines on their own line: 'By Jane Doe, Staff Writer'.",
        "line",
        byline,
        english_only=True,
        max_words=_BYLINE_MAX_WORDS,
        screen=Screen(starts=_leads(_BYLINE, normalised=False)),
    ),
    Rule(
        "dateline",
        "Lines made only of dates and times: '06.01.2008 01:07'.",
        "line",
        dateline,
        max_words=_DATELINE_MAX_WORDS,
        # the first word is a date token: a number, or one of the words
        screen=Screen(
            lead=tuple("0123456789"),
            first_words=_matches(re.compile(f"(?:{_DATE_WORDS})", re.IGNORECASE), alnum_only=True),
        ),
    ),
    Rule(
        "related_heading",
        "Related, recommended and most-read headings: 'Related Articles'.",
        "line",
        related_heading,
        english_only=True,
        max_words=_RELATED_HEADING_MAX_WORDS,
        screen=Screen(lead=_leads(_RELATED)),
    ),
    Rule(
        "promo",
        "Promos and self-promotion: 'For more, visit example.com!!!!', 'WEEKLY FEATURE : ...'.",
        "line",
        promo,
        max_words=_PROMO_MAX_WORDS,
        # _PROMO_LABEL starts with a capitalised label word; "!!!" at the end; _PROMO_LINK's hints
        screen=Screen(capitals=True, ends="!", hints=_PROMO_DOMAIN_HINTS),
    ),
    Rule(
        "cookie_notice",
        "Cookie and privacy notices.",
        "line",
        cookie_notice,
        english_only=True,
        max_words=_COOKIE_NOTICE_MAX_WORDS,
        screen=Screen(hints=_COOKIE_HINTS),
    ),
    # -- context pass ----------------------------------------------------------
    Rule(
        "embed_caption",
        "The title and caption lines printed right after a video embed.",
        "context",
        embed_caption,
        needs=frozenset({"media_embed"}),  # directly, or under a caption line of the same embed
    ),
    Rule(
        "photo_alt",
        "A short line directly above a photo credit or embed (alt text).",
        "context",
        photo_alt,
        needs=frozenset({"photo_credit", "media_embed"}),
    ),
    Rule(
        "sandwiched",
        "A short non-sentence line outside the main block between two boilerplate lines.",
        "context",
        sandwiched,
        uses_block=True,
    ),
    Rule(
        "outside_body",
        "A line outside the main text block (the densest run of prose), except the headline.",
        "context",
        outside_body,
        english_only=True,
        uses_block=True,
    ),
    Rule(
        "repeated_paragraph",
        "A paragraph (or its leading sentences) repeated in the same text.",
        "context",
        repeated_paragraph,
        uses_block=True,
    ),
)
"""All rules, in the order they are tried."""

RULE_NAMES: frozenset[str] = frozenset(r.name for r in RULES)
"""Names of all rules (the values ``disable`` in a rules file may take)."""
