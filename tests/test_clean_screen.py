"""The cleaner's shortcuts give what running every rule on every line gives.

* Each line rule's screen (:class:`dedupe.clean.rules.Screen`) lets through every line the rule fires on.
* The compiled ``doc_lines`` screens lines as :meth:`Screen.lets_through` does, and its block pass (the
  language, the main block, whether the block rules would stay quiet) is the cleaner's own.
* Cleaning with the screens and the untouched-document shortcut equals cleaning without them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import compiled_kernels
from dedupe.clean import RULES, Cleaner, normalize_line
from dedupe.clean.cleaner import (
    _BLOCK_PARAMS,
    _COMMENT_HEADER,
    _COMMENT_STARTS,
    _block_quiet,
    _is_english,
    find_headline,
    find_main_block,
    split_lines,
)
from dedupe.clean.rules import STOPWORDS, LineContext, LineFeatures, LineInfo, Screen
from dedupe.config import CleanConfig

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).parent.parent / "seeds"

# Lines the rules fire on, near misses, and prose.
BOILERPLATE = [
    "Advertisement", "ADVERTISEMENT", "Story continues below advertisement", "Sponsored by Acme Corp",
    "AdChoices", "Ad Feedback", "Continue reading the main story", "Scroll to continue reading",
    "Click to play video: 'Budget vote explained'", "Photo Insert: The mayor and the council",
    "   video   :  The flood", "PHOTOS: The storm", "Enlarge this image", "12 more photos", "Play video",
    "Click here to enlarge image", "Jane Doe | Reuters/John Smith, 2013", "(AP Photo/Jane Doe)",
    "Photo by Jane Doe/Getty Images", "Pictures courtesy of the family", "AP Photo: Jane Doe",
    "All the news: Business man in suit and tie smiling and reading a newspaper.",
    "Get the day's top news headlines, delivered to your inbox once a day.",
    "By providing your email address, you have read and agree to our Terms and Conditions.",
    "Sign up for our daily newsletter", "Enter your E-mail", "Newsletter sign up", "Get our free weekly news",
    "You can unsubscribe at any time.", "Thanks for signing up!", "Share this article",
    "Facebook Twitter Email Print", "Back to top button", "Exit mobile version", "Skip to content",
    "Writer's pictureBy The Daily Planet", "Home | News | Sport | Weather | Business",
    "Home › News › World › Europe", "Powered by WordPress", "© 2008 The Daily Planet. All rights reserved.",
    "Copyright 2020 Acme Media", "(C) 2020 The Planet", "By Jane Doe, Staff Writer", "Posted by jim",
    "FROM Jane Doe and John Roe", "Updated: Jan. 5, 2008 3:45 pm", "06.01.2008 01:07", "Related Articles",
    "Discover news about China", "You may also like", "Most read this week", "Don't miss",
    "For the most recent developments, visit example.com!!!!", "Follow us at example.co.uk for more",
    "WEEKLY FEATURE : Local Group Keeps Lights On", "SPONSORED: Win a car", "Amazing deal!!!",
    "This site uses cookies. By continuing to browse you agree to our use of cookies.",
    "Our privacy policy has been updated; please agree to continue.", "Comments (12)", "12 comments",
    "Have your say", "Reader's comments", "What do you think?", "Posted by jim on Monday at 10:30",
    "Report this comment", "Reply", "Jane wrote:", "The results:", "Scoreboard:", "9 photos", "99 comments",
    "9th June 2008 09:30", "Sept. 9", "5 more videos", "Discover more from Acme",
]
PROSE = [
    "The city council voted on Tuesday to approve the new budget, which had been debated for months.",
    "Officials said the plan would raise spending on schools and roads while keeping taxes flat.",
    "Critics argued that the budget relied on optimistic forecasts of revenue from the new port.",
    "The mayor is expected to sign the measure into law before the end of the week, aides said.",
    'He added: "We are standing by the plan, and we will not raise taxes this year."',
    "By Monday, the council had received more than 400 letters about the proposal, aides said.",
    "Visitors can find the full budget at the city website, the clerk said on Tuesday evening.",
    "What the council decided on Tuesday will shape the city for years to come, the mayor said.",
    "No charges have been laid.", "It was late.", "Council approves city budget", "Budget highlights",
    "The \u201cplan\u201d costs \u00a35m \u2014 or more \u2014 said the caf\u00e9\u2019s owner, who was not at the meeting today.",
    "Caf\u00e9 owners said the measure would help them, and the council agreed with them on Tuesday night.",
    "- Who that 80bn rupees ($1.8bn) will be spent on quality rural infrastructure in the towns and cities",
]
WORDS = [
    "the", "council", "said", "and", "of", "to", "in", "a", "on", "it", "was", "Photo", "photo", "Image", "video",
    "Sign", "up", "sign up", "subscribe", "inbox", "email", "E-Mail", "cookie", "privacy", "policy", "visit",
    "example.com", "site.co.uk", ".in", "By", "by", "pictureBy", "Copyright", "(c)", "©", "all rights reserved",
    "Advertisement", "Sponsored", "FEATURE", "WEEKLY", "Related", "More", "Home", "menu", "Share", "Twitter",
    "print", "2008", "10:30", "Jan.", "GMT", ":", "|", "/", "·", "•", "»", "›", "!", "!!!", "?", ".", ",", "-", "–",
    "\u201c", "\u201d", "\u2019s", "caf\u00e9", "\u00a35m", "\u2014", "\u00a0", "\u3000", "\uff1a", "Stra\u00dfe",
    "\u017fign", "\u212a", "_", "'", "Comments", "comment", "What", "Have", "your", "say", "12", "Reader's",
]


def _line(words: list[str], lead: str, trail: str, sep: str) -> str:
    return lead + sep.join(words) + trail


lines_st = st.one_of(
    st.sampled_from(BOILERPLATE + PROSE),
    st.builds(
        _line,
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=40),
        st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\u201c", "(", "» ", "- "]),
        st.sampled_from(["", " ", ".", ":", "!!!", ")", ".\u201d", ",", " |", "\u2026"]),
        st.sampled_from([" ", " ", "  ", " \t "]),
    ),
    st.builds(lambda s, case: s.upper() if case else s.lower(), st.sampled_from(BOILERPLATE), st.booleans()),
)
# Long lines (past every word limit) of plain prose with one token of WORDS put in: each property of a
# screen alone.
_PLAIN = ["the", "council", "said", "on", "Tuesday", "that", "it", "would", "vote", "on", "the", "plan", "again", "next", "week", "after", "a", "long", "debate"]
long_lines_st = st.builds(
    lambda at, token, case, lead, trail: lead + " ".join(
        _PLAIN[:at] + [token.upper() if case == 1 else token.title() if case == 2 else token] + _PLAIN[at:]) + trail,
    st.integers(0, len(_PLAIN)), st.sampled_from(WORDS), st.integers(0, 2),
    st.sampled_from(["", "  ", "\u201c"]), st.sampled_from(["", ".", " "]),
)
lines_st = st.one_of(lines_st, long_lines_st)
docs_st = st.lists(st.one_of(lines_st, st.just(""), st.sampled_from(PROSE)), min_size=0, max_size=14)


def _features(line: str) -> LineFeatures:
    return LineFeatures(line)


def _fires(rule, line: str) -> bool:
    info = LineInfo(1, _features(line))
    return bool(rule.check(LineContext(lines=[info], pos=0, verdicts=[None], english=True)))


def _fixture_lines() -> list[str]:
    """The non-blank lines of the text fixtures and the seeds."""
    lines = []
    for path in [*sorted(FIXTURES.rglob("*.txt")), *sorted(SEEDS.glob("*.txt"))]:
        lines += [x for x in split_lines(path.read_text(encoding="utf-8", errors="replace"))[0] if x.strip()]
    return lines


SCREENED = [r for r in RULES if r.screen is not None]


def _check_screens(line: str) -> None:
    features = _features(line)
    for rule in SCREENED:
        if _fires(rule, line):
            assert rule.screen.lets_through(line, features.n_words, features.ends_sentence), (rule.name, line)


def test_every_screen_lets_through_the_lines_of_its_rule() -> None:
    """Each rule fires on some listed line, and its screen lets every line it fires on through."""
    lines = BOILERPLATE + PROSE + _fixture_lines()
    assert {r.name for r in SCREENED} <= {r.name for r in SCREENED if any(_fires(r, x) for x in lines)}
    for line in lines:
        _check_screens(line)


@settings(max_examples=400, deadline=None)
@given(lines_st)
def test_every_screen_lets_through_the_lines_of_its_rule_on_made_up_lines(line: str) -> None:
    _check_screens(line)


def test_the_cleaners_screens_join_the_rules_that_may_fire_on_each_length() -> None:
    """A line of n words is screened by the join of the screens of the rules whose word limit allows n
    words, and of no other rule."""
    tiers = Cleaner()._screens
    assert tiers.limits == tuple(sorted({r.max_words for r in SCREENED if r.max_words is not None}))
    for n in range(0, 70):
        screen = tiers.screen_for(n)
        may_fire = [r for r in SCREENED if r.max_words is None or r.max_words >= n]
        assert screen == Screen.join(r.screen for r in may_fire), n
        for rule in may_fire:
            for name in ("chars", "unended", "head_chars", "ends", "hints", "cased", "starts", "lead", "first_words"):
                assert set(getattr(rule.screen, name)) <= set(getattr(screen, name)), (rule.name, name)
    assert tiers.screen_for(100).first_words == ()  # share_widget (14 words at most) is not asked
    # A disabled rule's screen is not joined.
    assert all("©" not in s.hints for s in Cleaner(CleanConfig(disabled_rules=frozenset({"page_furniture"})))._screens.screens)


@settings(max_examples=400, deadline=None)
@given(lines_st)
@example("_")
@example("- _ -")
@example("___ ___")
def test_compiled_screen_is_lets_through(line: str) -> None:
    """doc_lines lets a line through (gives its index) exactly when it has a non-ASCII word character or
    the cleaner's screen lets it through; else it gives line_stats' counts."""
    from dedupe.similarity.native import screen_tables, word_table

    native = compiled_kernels()
    cleaner = Cleaner()
    table = word_table(native, STOPWORDS)
    items = native.doc_lines(table, [line], screen_tables(native, cleaner._screens.tuples), cleaner._screens.limits,
                             _BLOCK_PARAMS, _COMMENT_STARTS)[0]
    if not line.strip():
        assert items == []
        return
    stats = native.line_stats(table, line)
    features = _features(line)
    expected = stats is None or cleaner._screens.lets_through(line, features.n_words, features.ends_sentence)
    assert items == ([0] if expected else [(0, stats[0], stats[1], stats[2])])


def test_screen_with_every_kind_of_property() -> None:
    """Each property of a screen, compiled and in Python, on lines that have it and lines that do not."""
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    long = "the council said on Tuesday that it would vote on the plan again next week after a long debate"
    cases = [
        (Screen(alnum=75), long, False), (Screen(alnum=76), long, True),
        (Screen(chars="!"), long + " now!", True), (Screen(chars="\uff1a"), long + "\uff1a", True),
        (Screen(hints=("tuesday",)), long, True), (Screen(hints=("thursday",)), long, False),
        (Screen(hints=("k\u00e9",)), long + " caf\u00e9 k\u00e9", True), (Screen(hints=("\u00e9t",)), long, False),
        (Screen(cased=("Tuesday",)), long, True), (Screen(cased=("Tuesday",)), long.replace("T", "t"), False),
        (Screen(cased=("tuesday",)), long.replace("T", "t"), True), (Screen(unended="|"), long + " | x", True),
        (Screen(unended="|"), long + " | x.", False), (Screen(capitals=True), "  OK " + long, True),
        (Screen(capitals=True), "Ok " + long, False), (Screen(starts=("the c",)), "  The C" + long[5:], True),
        (Screen(starts=("council",)), long, False), (Screen(head=5, head_chars=":"), " ab:c " + long, True),
        (Screen(head=3, head_chars=":"), " abc: " + long, False), (Screen(ends="!"), long + "! ", True),
        (Screen(ends="!"), "!" + long, False), (Screen(words=19), long, True), (Screen(words=18), long, False),
        (Screen(), long, False), (Screen(), long + " Stra\u00dfe", True),
        (Screen(cased=("x\u2014",)), long + " x\u2014", True), (Screen(cased=("x\u2014",)), long + " x\u2013", False),
        (Screen(head=sys.maxsize, head_chars=":"), " ab: " + long, True), (Screen(alnum=0), "- _ -", False),
        (Screen(hints=tuple(f"a{i:05d}" for i in range(65535))), long + " a65534", True),
    ]
    table = word_table(native, STOPWORDS)
    for screen, line, expected in cases:
        features = _features(line)
        assert screen.lets_through(line, features.n_words, features.ends_sentence) is expected, (screen, line)
        got = native.doc_lines(table, [line], (native.screen_new(screen.as_tuple()),), (), _BLOCK_PARAMS, ())[0]
        assert (got == [0]) is expected, (screen, line)


def test_compiled_screen_on_random_screens_with_latin1_characters() -> None:
    """Random screens whose characters, hints, cased hints and unended characters include Latin-1
    characters that are no word characters, on random one-byte lines (hints at the end of a line,
    lines that end a sentence and lines that do not): the compiled screen, which skips to the
    positions its table marks for one-byte strings (Screen.stops), lets through exactly the lines
    that Screen.lets_through lets through."""
    import random

    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    rng = random.Random(14)
    marks, letters = "\xa9\xbb\xab\xb7\xd7\xf7\xa1\xbf|/:!-", "abekloptxyz"

    def pick(alphabet: str, low: int, high: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

    table = word_table(native, STOPWORDS)
    let = kept = 0
    for _ in range(250):
        screen = Screen(chars=pick(marks, 0, 2), unended=pick(marks, 0, 2),
                        hints=tuple({pick(letters + marks, 1, 3) for _ in range(rng.randint(0, 4))}),
                        cased=tuple({pick(letters + letters.upper() + marks, 2, 3) for _ in range(rng.randint(0, 3))}))
        compiled = (native.screen_new(screen.as_tuple()),)
        for _ in range(40):
            words = [pick(letters + letters.upper() + marks, 1, 6) for _ in range(rng.randint(1, 12))]
            line = " ".join(words) + rng.choice(["", ".", " .", "!", "\xa0", rng.choice(screen.hints or ("x",))])
            if not line.strip():
                continue
            features = _features(line)
            expected = screen.lets_through(line, features.n_words, features.ends_sentence)
            got = native.doc_lines(table, [line], compiled, (), _BLOCK_PARAMS, ())[0] == [0]
            assert got is expected, (screen, line)
            let += expected
            kept += not expected
    assert let > 1000 and kept > 1000  # both outcomes, many times


@pytest.mark.parametrize("screen", [dict(head=-1), dict(hints=("",)), dict(hints=("Tuesday",)), dict(lead=("The",)),
                                    dict(first_words=("e-mail",)), dict(hints=("a",) * 65536)])
def test_a_screen_the_compiled_check_would_not_mean_the_same_is_refused(screen) -> None:
    with pytest.raises(ValueError):
        Screen(**screen)


def _first_letters(line: str, most: int) -> tuple[str, ...]:
    """The runs of ASCII letters and digits of a line, lower-cased, up to ``most`` characters in all."""
    runs, left = [], most
    for run in re.findall("[a-z0-9]+", line.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))):
        if left <= 0:
            break
        runs.append(run[:left])
        left -= len(run)
    return tuple(runs)


def _python_block(lines: list[str]) -> tuple[bool, tuple[int, int] | None, bool, list[int]]:
    """The language, main block, quietness and comment-heading lines of a document with no verdicts, in
    Python."""
    infos = [LineInfo(i + 1, _features(x)) for i, x in enumerate(lines) if x.strip()]
    verdicts: list[str | None] = [None] * len(infos)
    english = _is_english(infos)
    body = find_main_block(infos, verdicts) if english else None
    ctx = LineContext(lines=infos, pos=0, verdicts=verdicts, english=english, body=body)
    ctx.headline = find_headline(infos, verdicts, body)
    headings = [p for p in range(body[0] + 1, body[1] + 1) if _COMMENT_HEADER.match(infos[p].norm)] if body else []
    return english, body, _block_quiet(ctx), headings


@settings(max_examples=400, deadline=None)
@given(docs_st)
def test_compiled_block_pass_is_the_cleaners(lines: list[str]) -> None:
    from dedupe.similarity.native import screen_tables, word_table

    native = compiled_kernels()
    table = word_table(native, STOPWORDS)
    tiers = Cleaner()._screens
    _, english, quiet, first, last, check = native.doc_lines(
        table, lines, screen_tables(native, tiers.tuples), tiers.limits, _BLOCK_PARAMS, _COMMENT_STARTS)
    if any(native.line_stats(table, x) is None for x in lines if x.strip()) or not any(x.strip() for x in lines):
        assert english is None and quiet is False
        return
    py_english, py_body, py_quiet, headings = _python_block(lines)
    assert english == py_english
    assert ((first, last) if first >= 0 else None) == py_body
    if quiet != py_quiet:
        # The compiled pass takes lines with the same first 64 letters and digits (in the same runs)
        # for possible repeats (a function of the normalised line: see line_scan), so it may be quiet
        # less often, never more.
        keys = [_first_letters(x, 64) for x in lines if len(_features(x).folded_words) >= 6]
        assert not quiet and len(set(keys)) < len(keys)
    assert set(headings) <= set(check)


def test_block_pass_repeats_and_headlines() -> None:
    """The cases of the compiled block pass: a repeated paragraph or lede, a second line above the block,
    a headline that is not title-like."""
    native = compiled_kernels()
    from dedupe.similarity.native import screen_tables, word_table

    table = word_table(native, STOPWORDS)
    tiers = Cleaner()._screens
    screens = screen_tables(native, tiers.tuples)

    def quiet(lines: list[str]) -> bool:
        got = native.doc_lines(table, lines, screens, tiers.limits, _BLOCK_PARAMS, _COMMENT_STARTS)[2]
        assert got == _python_block(lines)[2], lines
        return bool(got)

    head, body = "Council approves city budget", PROSE[:4]
    assert quiet([head, "", *body])
    assert not quiet([head, *body, body[1]])  # a repeated paragraph
    assert not quiet([head, *body, body[1].upper() + "  "])  # the same normalised
    assert not quiet([head, *body, body[2][:20] + " and more words follow here."])  # the same head
    assert not quiet(["Menu", head, *body])  # two lines above the block
    assert not quiet(["Council approves city budget:", *body])  # no title
    assert not quiet(["Council | Budget", *body])
    assert not quiet(["Council", *body])  # one word: no headline
    assert quiet(["Council approves city budget and more", *body])
    assert quiet(body)


def _unscreened(config: CleanConfig | None = None) -> Cleaner:
    """The reference: every rule on every line, every pass (``Cleaner(shortcuts=False)``)."""
    every = Cleaner(config, shortcuts=False)
    assert not any(every._untouchable.values()) and not any(every._quiet_blocks.values())
    assert all(r.max_words is None and r.needs is None and r.screen is None for r in every.rules)
    return every


@settings(max_examples=300, deadline=None)
@given(docs_st, st.booleans())
def test_cleaning_with_the_shortcuts_is_cleaning_without(lines: list[str], crlf: bool) -> None:
    text = ("\r\n" if crlf else "\n").join(lines)
    fast, every = Cleaner(), _unscreened()
    recurring = frozenset({"share this article", "most read this week"})
    for rec in (frozenset(), recurring):
        for extracted in (False, True):
            assert fast.clean(text, rec, extracted) == every.clean(text, rec, extracted)


def test_cleaning_fixtures_with_the_shortcuts_is_cleaning_without(monkeypatch) -> None:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(FIXTURES.rglob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    # As recurring lines: every third short line of the fixtures and seeds.
    recurring = frozenset([normalize_line(x) for x in _fixture_lines() if len(x.split()) < 8][::3])
    assert len(recurring) >= 5
    fast, every = Cleaner(), _unscreened()
    for kernels_off in (False, True):
        if kernels_off:
            monkeypatch.setenv("DEDUPE_NO_KERNELS", "1")
        for text in texts:
            for rec in (frozenset(), recurring):
                assert fast.clean(text, rec) == every.clean(text, rec)
    # The user's phrases and patterns are tried on every line (no screen).
    config = CleanConfig(extra_phrases=("budget highlights",), extra_patterns=(r"Council .*",))
    fast, every = Cleaner(config), _unscreened(config)
    page = "\n".join(["Council approves city budget", *PROSE[:4], "Budget highlights"])
    assert fast.clean(page) == every.clean(page)
    assert {r.rule for r in fast.clean(page).removed} == {"user_phrase", "user_pattern"}


def test_user_rules_have_no_screen() -> None:
    """Rules tried on every line: no screen, no word limit (the cleaner cannot skip them)."""
    cleaner = Cleaner(CleanConfig(extra_phrases=("x",), extra_patterns=("y",)))
    always = {r.name for r in cleaner._line_rules[True, True].always}
    assert always == {"user_phrase", "user_pattern", "recurring_line"}
    assert not cleaner._untouchable[True, True]
    assert Cleaner()._untouchable[True, True] and Cleaner()._untouchable[False, False]


def test_a_comments_section_inside_the_block_is_not_untouched() -> None:
    """Reader comments written as prose join the main block, so the compiled block pass finds the
    document quiet; the comments heading among the block's lines (doc_lines' ``check``) sends it to
    the rules, which cut the block there."""
    page = "\n\n".join(["Council approves city budget", *PROSE[:4], "Comments (12)",
                        "Posted by jim on Monday at 10:30", PROSE[6], PROSE[7]])
    result = Cleaner().clean(page)
    assert [r.rule for r in result.removed] == ["outside_body"] * 4
    assert result == _unscreened().clean(page)


def test_leads_and_matches_read_the_regex_tree() -> None:
    from dedupe.clean.rules import _leads, _matches

    assert _leads(re.compile(r"^(?:\d+ )?(?:Ab|cd)x", re.IGNORECASE)) == (*"0123456789", "abx", "cdx")
    assert _leads(re.compile(r"^(?:ab|abcdefgh)")) == ("ab",)  # prefixes of others dropped; 6 at most
    assert _leads(re.compile(r"^[-(]?ab")) == ("ab",)  # a normalised line starts with a letter or digit
    assert _leads(re.compile(r"^(?:x-?y|z\w+)")) == ("x", "z")
    for pattern in (r"^[-(]?ab", r"^.ab", r"^(?:ab)?"):
        with pytest.raises(ValueError):
            _leads(re.compile(pattern), normalised=False)
    assert _matches(re.compile(r"(?:jan(?:uary)?|a\.?m|[ec]s?t)", re.IGNORECASE), alnum_only=True) == (
        "am", "cst", "ct", "est", "et", "jan", "january")
    with pytest.raises(ValueError):
        _matches(re.compile(r"\d+"))
