"""Text normalization, tokenization and sentence splitting.

Normalization makes copies that differ only in typography compare equal: Unicode NFKC,
case folding, curly quotes and dashes mapped to ASCII, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

from dedupe.similarity.native import kernels

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    }
)  # fmt: skip
_TO_MAP = re.compile("[" + "".join(re.escape(chr(c)) for c in _TRANSLATE) + "]")
_REPLACEMENT = {chr(c): r or "" for c, r in _TRANSLATE.items()}
_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# ASCII characters that are not word characters (on ASCII, \w is [A-Za-z0-9_]), mapped to spaces
# (the second table keeps line feeds, for tokenizing many lines at once).
_ASCII_NON_WORD = str.maketrans({c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "_")})
_ASCII_NON_WORD_LINES = str.maketrans({c: " " for c in map(chr, range(128)) if not (c.isalnum() or c in "_\n")})


def normalize_text(text: str) -> str:
    """Return ``text`` in the canonical form used for fingerprints and exact matching.

    NFKC, case-folded, typographic quotes and dashes as ASCII, runs of whitespace as one space.
    """
    return _WS.sub(" ", fold_text(text)).strip()


def fold_text(text: str) -> str:
    """NFKC, typographic quotes and dashes as ASCII, case folded; whitespace left as it is.

    Enough for tokens (which ignore whitespace); pure-ASCII text skips the Unicode steps.
    """
    if not text.isascii():
        # Most non-ASCII news text is NFKC already and has a few characters to map, if any: the
        # quick checks cost a fraction of normalizing and translating every character.
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = map_typography(text)
    elif "`" in text:  # the one ASCII character mapped
        text = text.replace("`", "'")
    return text.casefold()


# Where the characters that fold_text leaves as separators are looked for (:func:`fold_separators`):
# Latin-1 and Latin Extended, General Punctuation to Miscellaneous Symbols and Arrows, CJK punctuation.
_SEPARATOR_RANGES = ((0x80, 0x300), (0x2000, 0x2C00), (0x3000, 0x3040))


@lru_cache(maxsize=1)
def fold_separators() -> bytes:
    """A bitmap of the Basic Multilingual Plane (bit ``c`` of byte ``c >> 3``) of the characters that
    separate tokens in :func:`fold_text`'s output exactly as any ASCII punctuation does, whatever
    surrounds them: each is no word character and no mark, what NFKC makes of it begins with a
    character that composes with nothing before it (NFKC may change it: "…" to "...", a no-break
    space to a space), and it folds (NFKC, typography, case) to a non-empty string without a word
    character. A text whose non-ASCII characters all are such has the tokens of its ASCII
    characters lower-cased, which the compiled vocabulary finds without folding the text
    (:meth:`~dedupe.similarity.shingle.Vocabulary.lookup_folded`). 3,776 characters tried, 2,689 kept."""
    bits = bytearray(0x10000 // 8)
    for lo, hi in _SEPARATOR_RANGES:
        for code in range(lo, hi):
            char = chr(code)
            if _WORD.match(char) or unicodedata.category(char)[0] in "MC":  # marks, controls, surrogates
                continue
            nfkc = unicodedata.normalize("NFKC", char)
            # What NFKC makes of it starts with a character that composes with nothing before it
            # (a starter that is not a mark), so that it cannot change the word before it.
            if unicodedata.combining(nfkc[0]) or unicodedata.category(nfkc[0])[0] in "MC":
                continue
            folded = fold_text(char)
            if folded and not _WORD.search(folded) and unicodedata.normalize("NFKC", "a" + char + "a") == "a" + nfkc + "a":
                bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)


@lru_cache(maxsize=1)
def fold_map() -> tuple[bytes, dict[int, str]]:
    """How :func:`fold_text` folds a text whose non-ASCII characters all are separators
    (:func:`fold_separators`), one character at a time: the fold of each ASCII character (128 bytes)
    and of each separator (code point -> str). Folding such a text is folding each of its
    characters alone: NFKC changes no separator with its neighbours (that is how they were chosen),
    and the typography map and case folding take one character at a time. The compiled sentence
    tokenizer folds such texts itself (:meth:`~dedupe.similarity.shingle.Vocabulary.lookup_sentences`)."""
    ascii_fold = "".join(fold_text(chr(c)) for c in range(128)).encode("ascii")
    assert len(ascii_fold) == 128  # each ASCII character folds to one ASCII character
    bits = fold_separators()
    separators = {code: fold_text(chr(code)) for lo, hi in _SEPARATOR_RANGES for code in range(lo, hi)
                  if bits[code >> 3] >> (code & 7) & 1}
    return ascii_fold, separators


def map_typography(text: str) -> str:
    """``text.translate(_TRANSLATE)``: typographic quotes and dashes as ASCII, invisible characters dropped.

    A text holds a few of the mapped characters if any, and ``str.translate`` with a mapping looks up
    every character of a non-ASCII text in it (about 100 us for a news article with curly quotes,
    as much as all of its cleaning): the characters found are replaced one by one instead. No
    replacement is itself mapped, so the order of the replacements does not matter.
    """
    for char in set(_TO_MAP.findall(text)):
        text = text.replace(char, _REPLACEMENT[char])
    return text


def tokenize(normalized: str) -> list[str]:
    """Split normalized text into word tokens (``\\w+`` runs: letters, digits, underscore)."""
    if normalized.isascii():
        # The same tokens with string methods, in a third of the regex's time.
        return normalized.translate(_ASCII_NON_WORD).split()
    return _WORD.findall(normalized)


def tokenize_lines(lines: list[str]) -> list[list[str]]:
    """:func:`tokenize` of each of ``lines`` (normalized texts without line feeds), in one pass
    over them all when they are ASCII."""
    joined = "\n".join(lines)
    if joined.isascii():
        return [line.split() for line in joined.translate(_ASCII_NON_WORD_LINES).split("\n")] if lines else []
    return [_WORD.findall(line) for line in lines]


# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace and
# an opening quote, capital or digit. Common abbreviations and initials are not sentence ends.
# The match starts at the mark itself (the sentence ends after it): a pattern that starts with a
# character set is searched for that set, where one that starts with a look-behind is tried at
# every position of the line (a fifth of the splitting time, same matches).
_SENT_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f])")
_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "gov", "sen", "rep", "lt", "col", "capt",
                  "sgt", "rev", "no", "vs", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "aug", "sep",
                  "sept", "oct", "nov", "dec", "u.s", "u.n", "u.k", "e.g", "i.e", "etc")  # fmt: skip
_ABBREV = re.compile(
    r"(?:\b(?:" + "|".join(map(re.escape, _ABBREVIATIONS)) + r")\.|\b[A-Z]\.)$",
    re.IGNORECASE,
)
# _ABBREV only looks at the end of the text before a sentence end: the longest abbreviation is 5
# characters, so the last 16 are enough (and keep the check linear when a line has thousands of
# initials or abbreviations, where the text before the next real end keeps growing).
_ABBREV_TAIL = 16
# Every abbreviation above is at most four word characters before its final dot, after a word
# boundary: a head ending in five word characters and the dot cannot match, and most sentence ends
# are such (the search of _ABBREV, which tries every position, is then skipped: half its time).
_LONG_WORD_END = re.compile(r"\w{5}\.")


def _abbreviation_end(head: str) -> bool:
    """Whether a sentence-final mark ending ``head`` (the text before it, up to :data:`_ABBREV_TAIL`
    characters) ends an abbreviation or an initial instead of a sentence."""
    return not (len(head) >= 6 and _LONG_WORD_END.fullmatch(head, len(head) - 6)) and bool(_ABBREV.search(head))


SENTENCE_SPLIT = (_ABBREVIATIONS, _ABBREV_TAIL, _abbreviation_end)
"""What the compiled sentence splitters take after the text (``split_sentences``, ``sentence_tokens``)."""


def split_sentences(text: str) -> list[str]:
    """Split text into sentences: at line breaks, then at sentence-final punctuation.

    Returns the non-empty sentences with surrounding whitespace stripped, in order.
    """
    native = kernels()
    if native is not None:
        # The same scan compiled (a third of the time); heads with non-ASCII characters are still
        # judged by _abbreviation_end, whose case-insensitive regex has its own Unicode rules.
        return native.split_sentences(text, *SENTENCE_SPLIT)
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for m in _SENT_END.finditer(line):
            end = m.start() + 1  # after the mark (the head ends with it: no closer to strip)
            if _abbreviation_end(line[max(start, end - _ABBREV_TAIL) : end]):
                continue
            piece = line[start:end].strip()
            if piece:
                out.append(piece)
            start = m.end()
        tail = line[start:].strip()
        if tail:
            out.append(tail)
    return out


# Function words of English: dropped from content-word features so that two texts on the same
# story are compared on what they say (names, numbers, nouns, verbs), not on grammar.
STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "almost", "also", "although", "am", "among", "an", "and", "another", "any", "are", "around", "as", "at", "be", "became", "because", "become", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done", "down", "during", "each", "either", "else", "even", "ever", "every", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "least", "less", "many", "may", "me", "might", "more", "most", "much", "must", "my", "myself", "neither", "no", "nor", "not", "now", "of", "off", "often", "on", "once", "one", "only", "or", "other", "others", "our", "ours", "ourselves", "out", "over", "own", "per", "perhaps", "quite", "rather", "said", "same", "says", "say", "she", "should", "since", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "though", "through", "thus", "to", "too", "under", "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves"]
)


def stem(word: str) -> str:
    """A light English suffix stripper (plural, -ing, -ed, -ly): enough to match inflections."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""),
                         ("es", ""), ("s", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


_CONTENT_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 1_000_000


def content_form(token: str) -> str:
    """The stem of a content word, or ``""`` for a stopword or one-letter token (cached)."""
    form = _CONTENT_CACHE.get(token)
    if form is None:
        form = "" if token in STOPWORDS or len(token) <= 1 else stem(token)
        if len(_CONTENT_CACHE) >= _CACHE_LIMIT:
            _CONTENT_CACHE.clear()
        _CONTENT_CACHE[token] = form
    return form


def content_words_of(tokens: list[str]) -> list[str]:
    """Stemmed content words of already tokenized normalized text, in order."""
    forms = list(map(_CONTENT_CACHE.get, tokens))  # known tokens without a Python call each
    if None in forms:
        forms = [content_form(t) if f is None else f for f, t in zip(forms, tokens)]
    return [f for f in forms if f]


def content_words_of_lines(token_lines: list[list[str]]) -> list[list[str]]:
    """:func:`content_words_of` of each list of tokens, looked up in one pass over them all."""
    forms: list[str | None] = list(map(_CONTENT_CACHE.get, chain.from_iterable(token_lines)))
    if None in forms:
        forms = [content_form(t) if f is None else f
                 for f, t in zip(forms, chain.from_iterable(token_lines))]
    out: list[list[str]] = []
    at = 0
    for tokens in token_lines:
        out.append([f for f in forms[at : at + len(tokens)] if f])
        at += len(tokens)
    return out


def content_words(normalized: str) -> list[str]:
    """Stemmed tokens of normalized text without stopwords and one-letter tokens, in order."""
    return content_words_of(_WORD.findall(normalized))
