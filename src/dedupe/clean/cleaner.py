"""The boilerplate cleaner: runs the rule registry over the lines of a text.

Cleaning one text:

1. Split into lines (``\\n``, ``\\r\\n`` and ``\\r`` endings).
2. Context-free pass: every ``line`` rule, in registry order, on every non-blank line.
3. Find the main text block (the densest run of prose lines among the lines still kept)
   and the headline just above it.
4. Context pass: every ``context`` rule, line by line, top to bottom.
5. Render the kept lines unchanged and in order; runs of blank lines left by removals
   collapse to one blank line.

The whole procedure is repeated on its own output until nothing more is removed, so a
cleaned text re-cleaned is identical (idempotence).

Most lines of an article are prose that no line rule can fire on: each rule's screen (a cheap
necessary condition, :class:`dedupe.clean.rules.Screen`) keeps them from the rules. With the compiled
kernels, steps 1-4 first run in one pass as they would if no line rule fired (``doc_lines``); when
that pass finds nothing to remove and the lines the screens let through are kept too, the text is
returned as it is (:meth:`Cleaner._untouched`). The results are those of the steps above.
"""

from __future__ import annotations

import math
import re
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from dedupe.clean.rules import (
    REPEAT_MIN_WORDS,
    RULE_NAMES,
    RULES,
    STOPWORDS,
    LineContext,
    LineFeatures,
    LineInfo,
    Rule,
    ScreenTiers,
    _leads,
    _may_repeat,
    line_features,
    normalize_line,
)
from dedupe.config import CleanConfig
from dedupe.errors import ConfigError
from dedupe.models import CleanResult, RemovedLine
from dedupe.similarity.native import kernels, screen_tables, word_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]

_NEWLINE_RE = re.compile(r"\r\n|\r|\n")

# Main-block scoring: a prose line adds its word count (capped), any other kept line costs
# _BLOCK_PENALTY (tuned on the "tune" half of the dev set: 6, 8, 10 tried).
_BLOCK_PROSE_CAP = 60
_BLOCK_PENALTY = 8
# After a line ending with ":" (3+ words), up to this many lines (of at most 15 words) are list items
# that cost nothing.
_LIST_MAX_ITEMS = 80
_LIST_HEAD_MIN_WORDS = 3
_LIST_ITEM_MAX_WORDS = 15
# A short sentence ("No charges have been laid.") adds this much: it extends a block it touches.
_BLOCK_SENTENCE_GAIN = 1
# A line of 8+ words is English prose when this share of its words are English stopwords;
# a document with two such lines is treated as English.
_ENGLISH_MIN_STOP_DENSITY = 0.3
# How far above the main block the headline is looked for (non-blank lines), and its words.
_HEADLINE_WINDOW = 12
_HEADLINE_MIN_WORDS = 3
_TITLE_MIN_WORDS, _TITLE_MAX_WORDS = 2, 30
# The constants of the block pass, as the compiled doc_lines takes them (in this order).
_BLOCK_PARAMS = (
    _BLOCK_PROSE_CAP,
    _BLOCK_PENALTY,
    _LIST_MAX_ITEMS,
    _BLOCK_SENTENCE_GAIN,
    _ENGLISH_MIN_STOP_DENSITY,
    _TITLE_MIN_WORDS,
    _TITLE_MAX_WORDS,
    REPEAT_MIN_WORDS,
    _LIST_ITEM_MAX_WORDS,
    _LIST_HEAD_MIN_WORDS,
    _HEADLINE_MIN_WORDS,
)


def split_lines(text: str) -> tuple[list[str], str, bool]:
    """Split a text into lines, accepting ``\\n``, ``\\r\\n`` and ``\\r`` endings.

    Args:
        text: The text.

    Returns:
        The lines, the newline sequence to use when joining (the first one in the text,
        else ``\\n``), and whether the text ended with a newline.
    """
    if "\r" not in text:
        # The usual case, where the regex would split at "\n" only: str.split is far cheaper.
        trailing = text.endswith("\n")
        body = text[:-1] if trailing else text
        return (body.split("\n") if body else []), "\n", trailing
    m = _NEWLINE_RE.search(text)
    newline = m.group(0) if m else "\n"
    trailing = bool(text) and text[-1] in "\r\n"
    body = text
    if trailing:
        body = text[:-2] if text.endswith("\r\n") else text[:-1]
    lines = _NEWLINE_RE.split(body) if body else []
    return lines, newline, trailing


def _render(lines: list[str], removed: set[int]) -> tuple[list[str], list[int]]:
    """Join kept lines, collapsing blank-line runs left by removed lines.

    Args:
        lines: All lines of the text.
        removed: Indices (0-based) of removed lines.

    Returns:
        The output lines and, for each, its index in ``lines``.
    """
    out: list[str] = []
    origin: list[int] = []
    blanks: list[int] = []
    gap_removed = False
    started = False
    for i, line in enumerate(lines):
        if not line.strip():
            blanks.append(i)
            continue
        if i in removed:
            gap_removed = True
            continue
        if gap_removed:
            blanks = blanks[:1] if started else []
        for b in blanks:
            out.append(lines[b])
            origin.append(b)
        out.append(line)
        origin.append(i)
        blanks = []
        gap_removed = False
        started = True
    if not gap_removed:
        for b in blanks:
            out.append(lines[b])
            origin.append(b)
    return out, origin


def _is_english(infos: list[LineInfo]) -> bool:
    """Whether the text is English: it has lines of English prose (high stopword density).

    Counting lines rather than pooling all words keeps long menus and link lists, which
    have few stopwords, from hiding the article on an English page.
    """
    long_lines = [info for info in infos if info.n_words >= 8]
    english = sum(1 for info in long_lines if info.stop_density >= _ENGLISH_MIN_STOP_DENSITY)
    return english >= min(2, len(long_lines)) and english > 0


def find_main_block(infos: list[LineInfo], verdicts: list[str | None]) -> tuple[int, int] | None:
    """Find the main text block: the run of kept lines with the highest prose score.

    Prose lines add their word count (capped), every other kept line costs a fixed
    penalty; the block is the maximum-sum run (Kadane), so isolated short lines inside
    the article (subheadings) stay in it while long menus and link lists break it.

    Args:
        infos: The non-blank lines.
        verdicts: Context-free verdicts (``None`` = kept so far).

    Returns:
        ``(first, last)`` positions in ``infos``, or ``None`` if there is no prose at all.
    """
    best: tuple[int, int] | None = None
    best_score = 0.0
    score = 0.0
    start = 0
    in_list = 0
    for pos, info in enumerate(infos):
        if verdicts[pos] is not None:
            continue
        if info.is_prose:
            gain = min(info.n_words, _BLOCK_PROSE_CAP)
            in_list = 0
        elif info.is_sentence:
            gain = _BLOCK_SENTENCE_GAIN
        elif in_list and info.n_words <= _LIST_ITEM_MAX_WORDS:
            # Items of a list or table announced by "...:" cost nothing.
            gain = 0
            in_list -= 1
        else:
            gain = -_BLOCK_PENALTY
        if info.text.rstrip().endswith(":") and info.n_words >= _LIST_HEAD_MIN_WORDS and score > 0:
            in_list = _LIST_MAX_ITEMS
        if score <= 0:
            score, start = 0.0, pos
        score += gain
        if score > best_score:
            best_score, best = score, (start, pos)
    return best


def find_body_span(infos: list[LineInfo], verdicts: list[str | None]) -> tuple[int, int] | None:
    """Find the article text in an extractor's output: from the first to the last body line
    still kept (prose, or a sentence of 8+ words), extended by a list that a kept line ending
    with ``:`` announces just after it ("On the Net:", "Scoreboard:").

    Extractors already cut the page down to the article, so everything between its first and
    last sentence is kept (hard-wrapped paragraphs, tables, subheadings); what they let through
    sits at the edges: datelines, share prompts, "Next game" boxes and link lists.

    Args:
        infos: The non-blank lines.
        verdicts: Context-free verdicts (``None`` = kept so far).

    Returns:
        ``(first, last)`` positions in ``infos``, or ``None`` if there is no body line.
    """
    body = [pos for pos, info in enumerate(infos) if verdicts[pos] is None and info.is_body_text]
    if not body:
        return None
    first, last = body[0], body[-1]
    in_list, items = False, 0
    for pos in range(last + 1, len(infos)):
        info = infos[pos]
        if verdicts[pos] is not None or info.n_words > 15:
            break
        if info.text.rstrip().endswith(":") and info.n_words >= 2:
            in_list, items = True, 0
        elif in_list and items < _LIST_MAX_ITEMS:
            items += 1
        else:
            break
        last = pos
    return first, last


_COMMENT_HEADER = re.compile(
    r"^(?:\d+ )?(?:reader'?s'? |user |your |latest |readers )?comments?(?: \(?\d+\)?)?$|"
    r"^(?:have your say|post a comment|leave a comment|add (?:a |your )?comment|write a comment|"
    r"join the (?:discussion|conversation)|discuss this (?:article|story)|reader (?:reactions|views)|"
    r"what do you think|comments? (?:are )?closed|show comments)\b"
)
# What the normalised line of a comments heading starts with (see Screen.lead).
_COMMENT_STARTS = _leads(_COMMENT_HEADER)
_COMMENT_SIGNATURE = re.compile(
    r"^(?:posted|written|submitted|comment(?:ed)?|added) by\b.{1,80}\b(?:on|at|\d{1,2}:\d\d)\b|"
    r"\breport (?:this comment|abuse)\b|^reply$|^\S.{0,40} (?:wrote|said|says):$|"
    r"^\S.{0,60}\b(?:\d{1,2}:\d\d ?(?:am|pm)?)$",
    re.IGNORECASE,
)


def find_comments(infos: list[LineInfo], body: tuple[int, int] | None) -> int | None:
    """Find where a reader-comments section starts inside the main block.

    A comments heading ("Comments", "Have your say", ...) counts only when comment
    signatures ("Posted by X on <date>", "Report this comment", "Reply") follow it.

    Args:
        infos: The non-blank lines.
        body: The main block.

    Returns:
        The position of the comments heading, or ``None``.
    """
    if body is None:
        return None
    first, last = body
    for pos in range(first + 1, min(last + 1, len(infos))):
        if not _COMMENT_HEADER.match(infos[pos].norm):
            continue
        window = infos[pos + 1 : pos + 20]
        if any(_COMMENT_SIGNATURE.search(info.text.strip()) for info in window):
            return pos
    return None


def _title_like(info: LineInfo) -> bool:
    text = info.text.strip()
    return _TITLE_MIN_WORDS <= info.n_words <= _TITLE_MAX_WORDS and not text.endswith((":", ",")) and "|" not in text


def find_headline(
    infos: list[LineInfo], verdicts: list[str | None], body: tuple[int, int] | None
) -> int | None:
    """Pick the headline: a title-like line above the main block.

    Pages usually repeat the headline in their first line (the HTML title, often with
    the site name added), so the kept line nearest above the block whose words all occur
    in the first line wins. Otherwise the nearest title-like line shortly above the block.

    Args:
        infos: The non-blank lines.
        verdicts: Verdicts so far (``None`` = kept).
        body: The main block.

    Returns:
        The headline's position in ``infos``, or ``None``.
    """
    if body is None:
        return None
    above = [pos for pos in range(body[0] - 1, -1, -1) if verdicts[pos] is None]
    title: set[str] | None = None  # made when a line is compared with it (most pages have none to compare)
    for pos in above[:-1] if above and above[-1] == 0 else above:
        info = infos[pos]
        if _title_like(info) and info.n_words >= _HEADLINE_MIN_WORDS:
            if title is None:
                # The page title: the first line of three words or more (skips stray marks like "?").
                title = set(next((i for i in infos if i.n_words >= 3), infos[0]).folded_words)
            if all(w in title for w in info.folded_words):
                return pos
    for pos in above[:_HEADLINE_WINDOW]:
        info = infos[pos]
        if _title_like(info) and info.n_words >= _HEADLINE_MIN_WORDS and not info.ends_sentence:
            return pos
    return None


# The block rules that _block_quiet knows to find nothing in a document with no removed line.
_QUIET_BLOCK_RULES = frozenset({"sandwiched", "outside_body", "repeated_paragraph"})


def _block_quiet(ctx: LineContext) -> bool:
    """Whether the block pass removes nothing from a document where no line has a verdict yet, with
    the rules of :data:`_QUIET_BLOCK_RULES` (the registry's): ``sandwiched`` needs a removed line on
    each side, ``outside_body`` a line outside the main block other than the headline (it would be
    the first removed), ``repeated_paragraph`` two lines that may repeat (:func:`_may_repeat`). Most
    articles are one block under their headline: the pass is spared."""
    if ctx.body is not None:
        first, last = ctx.body
        outside = first + len(ctx.lines) - 1 - last
        if ctx.headline is not None and not first <= ctx.headline <= last:
            outside -= 1
        if outside:
            return False
    ctx.may_repeat = _may_repeat(ctx.lines)
    return not ctx.may_repeat


class _LineRulesByLength:
    """The line rules to try on a line, by its word count: those whose ``max_words`` allows it.

    Long prose lines are most lines of an article and most rules never fire on them (see
    :attr:`Rule.max_words`); looking the rules up by length spares a call per rule and line.
    ``always`` are the rules to try on a line that the cleaner's screen keeps from the others
    (:class:`Screen`): those with neither a screen nor a word limit.
    """

    def __init__(self, rules: list[Rule]) -> None:
        self.always = tuple(r for r in rules if r.screen is None and r.max_words is None)
        # tiers[i] holds the rules for lines of limits[i-1] < n <= limits[i] words, in registry
        # order; the last tier is for lines longer than every limit.
        self.limits = sorted({r.max_words for r in rules if r.max_words is not None})
        self.tiers = [tuple(r for r in rules if r.max_words is None or r.max_words >= n) for n in self.limits]
        self.tiers.append(tuple(r for r in rules if r.max_words is None))
        # The tier of each word count up to the largest limit, then (last) of longer lines: one list
        # index a line, min(n_words, len(by_count) - 1).
        longest = self.limits[-1] if self.limits else 0
        self.by_count = [self.tiers[bisect_left(self.limits, n)] for n in range(longest + 2)]


class Cleaner:
    """Removes scraping boilerplate from texts line by line, using the :data:`RULES` registry.

    Args:
        config: Cleaner settings; defaults to ``CleanConfig()``.
        shortcuts: ``False``: try every rule on every line and run every pass (no word limits, screens,
            ``needs`` or untouched-document shortcut): the reference the shortcuts must equal, slower
            (``benchmarks/check_clean_shortcuts.py`` compares both on a folder of texts).

    Raises:
        ConfigError: If the config disables a rule that does not exist.
    """

    def __init__(self, config: CleanConfig | None = None, *, shortcuts: bool = True) -> None:
        self.config = config if config is not None else CleanConfig()
        unknown = sorted(set(self.config.disabled_rules) - RULE_NAMES)
        if unknown:
            raise ConfigError(f"unknown rule name(s): {', '.join(unknown)}")
        registry = RULES if shortcuts else tuple(replace(r, max_words=None, needs=None, screen=None) for r in RULES)
        self.rules: tuple[Rule, ...] = tuple(r for r in registry if r.name not in self.config.disabled_rules)
        # The rules of each pass by document language (English-only rules drop out): line rules
        # by line length, then context rules that do not and that do use the main block.
        by_language = {
            english: [r for r in self.rules if english or not r.english_only] for english in (True, False)
        }
        self._phrases = frozenset(normalize_line(p) for p in self.config.extra_phrases)
        self._patterns = tuple(re.compile(p) for p in self.config.extra_patterns)
        # Line rules by language and by whether the call has recurring lines. The rules that look
        # up the user's phrases and patterns and the recurring lines find nothing without them: they
        # are left out then (a call fewer per rule and line, on most lines of most texts).
        vacuous = {"user_phrase": not self._phrases, "user_pattern": not self._patterns}
        self._line_rules = {
            (english, recurring): _LineRulesByLength([
                r for r in rules if r.stage == "line" and not vacuous.get(r.name, False)
                and (recurring or r.name != "recurring_line")
            ])
            for english, rules in by_language.items() for recurring in (True, False)
        }
        self._local_rules = {
            english: [r for r in rules if r.stage == "context" and not r.uses_block]
            for english, rules in by_language.items()
        }
        self._block_rules = {
            english: [r for r in rules if r.stage == "context" and r.uses_block]
            for english, rules in by_language.items()
        }
        # The screens of the line rules other than those tried on every line (_LineRulesByLength.always):
        # a line they keep out is one none of those rules can fire on (most lines of prose).
        self._screens = ScreenTiers(r for r in self.rules if r.stage == "line")
        # Whether the rules of the block pass are all ones that find nothing in a document where no
        # line was removed and no line is outside the main block but the headline (_block_quiet).
        self._quiet_blocks = {
            english: shortcuts and all(r.name in _QUIET_BLOCK_RULES for r in rules)
            for english, rules in self._block_rules.items()
        }
        # Whether a document that the compiled block pass finds quiet can be judged untouched by
        # _untouched: the rules tried on every line are at most the recurring lines, the rules of the
        # first context pass need a removed line (Rule.needs), and the block rules are quiet ones.
        self._untouchable = {
            (english, recurring): all(r.name == "recurring_line" for r in self._line_rules[english, recurring].always)
            and all(r.needs is not None for r in self._local_rules[english])
            and self._quiet_blocks[english]
            for english in (True, False) for recurring in (True, False)
        }
        self._verdict_recurring: frozenset[str] | None = None
        self._verdict_keys: dict[bool, object] = {}

    def clean(self, text: str, recurring: frozenset[str] = frozenset(), extracted: bool = False) -> CleanResult:
        """Clean one text.

        Args:
            text: The raw text.
            recurring: Normalised lines that recur across the batch
                (from :func:`find_recurring_lines`); empty to skip that rule.
            extracted: The text is an article extractor's output (an HTML page's text from
                :mod:`dedupe.extract`), headline first: the main block is the span of the
                article's sentences (:func:`find_body_span`) rather than the densest run of
                prose, the first line is the headline, and only non-sentences are removed
                outside the span (docs/clean.md, "Extracted text").

        Returns:
            The cleaned text and every removed non-blank line with its 1-based line
            number in ``text`` and the rule that removed it.
        """
        out, lines, removed = self._clean(text, recurring, extracted, explain=True)
        removed.sort(key=lambda r: r.line)
        kept = sum(1 for line in lines if line.strip())
        return CleanResult(text=out, removed=tuple(removed), kept_lines=kept, removed_lines=len(removed))

    def clean_text(self, text: str, recurring: frozenset[str] = frozenset(), extracted: bool = False) -> str:
        """``clean(text, recurring, extracted).text``, without recording what was removed and why
        (what ``scan`` needs: about 7% of the time on scraped pages full of boilerplate)."""
        return self._clean(text, recurring, extracted, explain=False)[0]

    def _clean(self, text: str, recurring: frozenset[str], extracted: bool,
               explain: bool) -> tuple[str, list[str], list[RemovedLine]]:
        """The cleaned text, its lines, and (with ``explain``) the removed lines."""
        lines, newline, trailing = split_lines(text)
        origin = list(range(len(lines)))
        removed: list[RemovedLine] = []
        current = lines
        changed = False
        # Repeat until a pass removes nothing: each pass removes at least one line, so this ends.
        while True:
            verdicts = self._judge(current, recurring, extracted)
            if not verdicts:
                break
            changed = True
            if explain:
                for idx, rule in sorted(verdicts.items()):
                    removed.append(RemovedLine(line=origin[idx] + 1, text=current[idx], rule=rule))
            current, keep = _render(current, set(verdicts))
            if explain:
                origin = [origin[k] for k in keep]
        if not changed:
            if lines and "\r" not in text:
                # Nothing removed from a text with "\n" line ends only: rendering gives the text back
                # (but for a text of line ends alone, which renders empty).
                return text, lines, removed
            current, keep = _render(current, set())
        out = newline.join(current)
        if out and trailing:
            out += newline
        return out, current, removed

    def _judge(self, lines: list[str], recurring: frozenset[str], extracted: bool = False) -> dict[int, str]:
        """Run both passes over the lines; return ``{line index: rule name}`` for removed lines."""
        native = kernels()
        english: bool | None = None
        if native is None:
            infos = [LineInfo(i + 1, line_features(line)) for i, line in enumerate(lines) if line.strip()]
            lets_through = self._screens.lets_through
            screened = [not lets_through(i.text, i.n_words, i.ends_sentence) for i in infos]
        else:
            # One compiled pass over the lines: their counts, the screen, and the block pass of the
            # document as it would be if no line rule fired (most articles: then nothing is removed).
            items, english, quiet, first, last, check = native.doc_lines(
                word_table(native, STOPWORDS), lines, screen_tables(native, self._screens.tuples),
                self._screens.limits, _BLOCK_PARAMS, _COMMENT_STARTS,
            )
            if quiet and not extracted and english is not None and self._untouched(lines, items, english, check, recurring):
                return {}
            infos, screened = [], []
            for item in items:
                if item.__class__ is int:
                    # Let through: the cached features (a short line may be boilerplate seen before, its
                    # verdict remembered on them).
                    infos.append(LineInfo(item + 1, line_features(lines[item])))
                    screened.append(False)
                else:
                    i, n, stops, ends = item
                    infos.append(LineInfo(i + 1, LineFeatures(lines[i], (n, stops, ends, None))))
                    screened.append(True)
        if not infos:
            return {}
        if english is None:
            english = _is_english(infos)
        verdicts: list[str | None] = [None] * len(infos)
        ctx = LineContext(
            lines=infos,
            pos=0,
            verdicts=verdicts,
            english=english,
            recurring=recurring,
            phrases=self._phrases,
            patterns=self._patterns,
            extracted=extracted,
        )
        line_rules = self._line_rules[english, bool(recurring)]
        tiers, always = line_rules.by_count, line_rules.always
        key = self._verdict_key(recurring, english)
        for pos, info in enumerate(infos):
            ctx.pos, ctx.line = pos, info  # ctx.at(pos), inlined
            if not screened[pos]:
                verdicts[pos] = self._line_verdict(ctx, tiers, key)
            elif always:
                # No screened rule can fire: only those tried on every line (the recurring lines).
                for rule in always:
                    if rule.check(ctx):
                        verdicts[pos] = rule.name
                        break
        local = self._local_rules[english]
        if any(r.needs is not None for r in local):
            fired = set(verdicts)
            local = [r for r in local if r.needs is None or not r.needs.isdisjoint(fired)]
        if local:
            self._context_pass(ctx, local)
        if extracted:
            ctx.body = find_body_span(infos, verdicts) if english else None
            ctx.headline = 0
        else:
            ctx.body = find_main_block(infos, verdicts) if english else None
            comments = find_comments(infos, ctx.body)
            if ctx.body is not None and comments is not None:
                ctx.body = find_main_block(infos[:comments], verdicts[:comments])
            ctx.headline = find_headline(infos, verdicts, ctx.body)
        if self._quiet_blocks[english] and verdicts.count(None) == len(verdicts) and _block_quiet(ctx):
            return {}
        self._context_pass(ctx, self._block_rules[english])
        return {infos[pos].number - 1: v for pos, v in enumerate(verdicts) if v is not None}

    def _untouched(self, lines: list[str], items: list[Any], english: bool, check: list[int],
                   recurring: frozenset[str]) -> bool:
        """Whether :meth:`_judge` removes nothing from a document whose block pass the compiled
        ``doc_lines`` found quiet, that is, as long as no line rule fires (``items``, ``english``,
        ``check``: its results): true when no line rule fires on the lines the screen let through, no
        line is a recurring one, and no comments heading could cut the main block (:func:`find_comments`:
        the lines of ``check`` are the block's that may start one)."""
        if not self._untouchable[english, bool(recurring)]:
            return False
        tiers = self._line_rules[english, bool(recurring)].by_count
        key = self._verdict_key(recurring, english)
        ctx: LineContext | None = None
        for item in items:
            if item.__class__ is int:
                # The line rules read the line and the batch's recurring lines, nothing else.
                info = LineInfo(item + 1, line_features(lines[item]))
                if ctx is None:
                    ctx = LineContext(lines=[info], pos=0, verdicts=[None], english=english, recurring=recurring)
                ctx.line = info
                if self._line_verdict(ctx, tiers, key) is not None:
                    return False
            elif recurring and normalize_line(lines[item[0]]) in recurring:
                return False
        for pos in check:
            item = items[pos]
            if _COMMENT_HEADER.match(normalize_line(lines[item if item.__class__ is int else item[0]])):
                return False
        return True

    @staticmethod
    def _line_verdict(ctx: LineContext, tiers: list[tuple[Rule, ...]], key: object) -> str | None:
        """The context-free verdict of ``ctx.line``: the first rule of its length's tier (``tiers``:
        :attr:`_LineRulesByLength.by_count`) that fires, or None. It is remembered on the line's (cached)
        features for ``key`` (:meth:`_verdict_key`): later passes over the same document, and
        boilerplate lines shared by many documents, reuse it."""
        features = ctx.line.features
        memo = features.line_verdict
        if memo is not None and memo[0] is key:
            return memo[1]
        n_words, longest = ctx.line.n_words, len(tiers) - 1
        verdict = None
        for rule in tiers[n_words if n_words < longest else longest]:
            if rule.check(ctx):
                verdict = rule.name
                break
        features.line_verdict = (key, verdict)
        return verdict

    def _verdict_key(self, recurring: frozenset[str], english: bool) -> object:
        """What a remembered context-free verdict is valid for: this cleaner (its rules, phrases
        and patterns), this set of recurring lines (by identity) and the document's language."""
        if not isinstance(recurring, frozenset):  # a mutable set may change between calls
            return object()
        if recurring is not self._verdict_recurring:
            self._verdict_recurring = recurring
            self._verdict_keys = {True: object(), False: object()}
        return self._verdict_keys[english]

    @staticmethod
    def _context_pass(ctx: LineContext, rules: list[Rule]) -> None:
        """Run context rules top to bottom over the lines not yet removed."""
        ctx.earlier = None  # verdicts changed since the last pass: index the kept lines afresh
        checks = [(rule.check, rule.name) for rule in rules]
        verdicts = ctx.verdicts
        for pos, line in enumerate(ctx.lines):
            if verdicts[pos] is not None:
                continue
            ctx.pos, ctx.line = pos, line  # ctx.at(pos), inlined
            for check, name in checks:
                if check(ctx):
                    verdicts[pos] = name
                    break


def recurring_line_keys(text: str) -> frozenset[str]:
    """The normalised non-prose lines of one text: what it contributes to recurring-line counts."""
    native = kernels()
    if native is not None:
        # Compiled, but for the lines whose words or normalising are Python's (non-ASCII): most lines
        # are prose, judged without a LineFeatures each (14 against 40 us a news text on this host).
        keys, lines = native.recurring_keys(word_table(native, STOPWORDS), text)
        seen = set(keys)
    else:
        seen, lines = set(), split_lines(text)[0]
    for line in lines:
        if not line.strip():
            continue
        features = line_features(line)
        # Prose is decided first: most lines of an article are prose and need no normalising.
        if not features.is_prose and features.norm:
            seen.add(features.norm)
    return frozenset(seen)


def select_recurring(counts: Counter[str], n_docs: int, config: CleanConfig) -> frozenset[str]:
    """The lines of ``counts`` (documents per line) frequent enough to be batch boilerplate."""
    if config.recurring_min_docs == 0:
        return frozenset()
    need = max(config.recurring_min_docs, math.ceil(config.recurring_min_fraction * n_docs))
    return frozenset(line for line, c in counts.items() if c >= need)


def find_recurring_lines(texts: Iterable[str], config: CleanConfig) -> frozenset[str]:
    """Find lines that recur across a batch of documents (CCNet-style boilerplate).

    Each document counts a normalised line once. A line is recurring when it occurs in at
    least ``config.recurring_min_docs`` documents and in at least
    ``config.recurring_min_fraction`` of the batch. Lines of running prose never count,
    so that an article syndicated across the batch keeps its body.

    Args:
        texts: The raw texts of the batch.
        config: Cleaner settings (thresholds).

    Returns:
        The normalised recurring lines (compare with :func:`normalize_line`).
    """
    if config.recurring_min_docs == 0:
        return frozenset()
    counts: Counter[str] = Counter()
    n_docs = 0
    for text in texts:
        n_docs += 1
        counts.update(recurring_line_keys(text))
    return select_recurring(counts, n_docs, config)


_RULES_FILE_KEYS = {"disable", "phrases", "patterns", "recurring_min_docs", "recurring_min_fraction"}


def _str_list(data: dict[str, object], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings")
    return tuple(value)


def load_rules_file(path: str | Path) -> CleanConfig:
    """Read a TOML rules file (``--rules FILE``) into a :class:`CleanConfig`.

    Keys: ``disable`` (rule names), ``phrases`` (lines to remove, case-insensitive),
    ``patterns`` (regular expressions a whole line must match), ``recurring_min_docs``
    and ``recurring_min_fraction``.

    Args:
        path: The file.

    Returns:
        The cleaner settings.

    Raises:
        ConfigError: If the file cannot be read, is not valid TOML, has unknown keys or
            values of the wrong type, names an unknown rule, or holds a bad pattern.
    """
    path = Path(path)
    if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError("reading rules files needs Python 3.11+ or the 'tomli' package")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    unknown = sorted(set(data) - _RULES_FILE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(unknown)}")
    disable = _str_list(data, "disable", path)
    bad = sorted(set(disable) - RULE_NAMES)
    if bad:
        raise ConfigError(f"{path}: unknown rule name(s) in 'disable': {', '.join(bad)}")
    patterns = _str_list(data, "patterns", path)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{path}: bad pattern {pattern!r}: {exc}") from exc
    kwargs: dict[str, object] = {}
    defaults = CleanConfig()
    min_docs = data.get("recurring_min_docs", defaults.recurring_min_docs)
    if not isinstance(min_docs, int) or isinstance(min_docs, bool):
        raise ConfigError(f"{path}: 'recurring_min_docs' must be an integer")
    fraction = data.get("recurring_min_fraction", defaults.recurring_min_fraction)
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool):
        raise ConfigError(f"{path}: 'recurring_min_fraction' must be a number")
    kwargs = {"recurring_min_docs": min_docs, "recurring_min_fraction": float(fraction)}
    phrases = _str_list(data, "phrases", path)  # (its error names the file already)
    try:
        return CleanConfig(
            disabled_rules=frozenset(disable),
            extra_phrases=phrases,
            extra_patterns=patterns,
            **kwargs,  # type: ignore[arg-type]
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
