"""Rules of the cleaner, one small literal text each, plus layout, idempotence and the rules file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import compiled_kernels
from dedupe.clean import RULES, Cleaner, Rule, find_recurring_lines, load_rules_file, normalize_line
from dedupe.clean.rules import _WORD_RE
from dedupe.config import CleanConfig
from dedupe.errors import ConfigError

BODY = [
    "The city council voted on Tuesday to approve the new budget, which had been debated for months.",
    "Officials said the plan would raise spending on schools and roads while keeping taxes flat.",
    "Critics argued that the budget relied on optimistic forecasts of revenue from the new port.",
    "The mayor is expected to sign the measure into law before the end of the week, aides said.",
]


def page(*extra: str, where: int = 2) -> str:
    """A small article with ``extra`` lines inserted after body line ``where``."""
    lines = ["Council approves city budget", "", *[x for line in BODY for x in (line, "")]]
    at = 2 + 2 * where
    return "\n".join(lines[:at] + [x for e in extra for x in (e, "")] + lines[at:])


def removed_rules(text: str, **kwargs: object) -> dict[str, str]:
    return {r.text: r.rule for r in Cleaner(**kwargs).clean(text).removed}  # type: ignore[arg-type]


def test_registry_shape() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert isinstance(rule, Rule)
        assert rule.name.isidentifier() and rule.name == rule.name.lower()
        assert rule.description and "\n" not in rule.description
        assert rule.stage in {"line", "context"}
        assert callable(rule.check)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Advertisement", "ad_label"),
        ("Story continues below advertisement", "ad_label"),
        ("Sponsored content", "ad_label"),
        ("AdChoices", "ad_label"),
        ("Click to play video: 'Budget vote explained'", "media_embed"),
        ("Photo Insert: The mayor and the council", "media_embed"),
        ("Jane Doe | Reuters/John Smith, 2013", "photo_credit"),
        ("All the news: Business man in suit and tie smiling and reading a newspaper.", "stock_photo"),
        ("Get the day's top news headlines, delivered to your inbox once a day.", "newsletter"),
        (
            "By providing your email address, you have read and agree to our Terms and Conditions.",
            "newsletter",
        ),
        ("Share this article", "share_widget"),
        ("Facebook Twitter Email Print", "share_widget"),
        ("Back to top button", "page_furniture"),
        ("Exit mobile version", "page_furniture"),
        ("Skip to content", "page_furniture"),
        ("Writer's pictureBy The Daily Planet", "page_furniture"),
        ("Home | News | Sport | Weather | Business", "page_furniture"),
        ("© 2008 The Daily Planet. All rights reserved.", "page_furniture"),
        ("By Jane Doe, Staff Writer", "byline"),
        ("Updated: Jan. 5, 2008 3:45 pm", "dateline"),
        ("Related Articles", "related_heading"),
        ("Discover news about China", "related_heading"),
        ("For the most recent developments, visit example.com!!!!", "promo"),
        ("WEEKLY FEATURE : Local Group Keeps Lights On", "promo"),
        ("This site uses cookies. By continuing to browse you agree to our use of cookies.", "cookie_notice"),
    ],
)
def test_rule_fires_inside_an_article(line: str, rule: str) -> None:
    assert removed_rules(page(line)) == {line: rule}


@pytest.mark.parametrize(
    "line",
    [
        "Related discussions continued late into the night, according to two council members.",
        "The mayor said she would share the plan with residents at a town hall meeting on Friday.",
        "Advertisement revenue at the local paper fell by a third last year, the publisher said.",
        "Photographs of the meeting were shared widely online, the city clerk said on Tuesday.",
        "By Monday, the council had received more than 400 letters about the proposal.",
        'He added: "We are standing by the plan, and we will not raise taxes this year."',
        "Visitors can find the full budget at the city website, the clerk said on Tuesday.",
        "More about the letter",
        "Budget highlights",
    ],
)
def test_rule_does_not_fire_on_article_text(line: str) -> None:
    assert removed_rules(page(line)) == {}


def test_headline_and_subheading_kept_menu_dropped() -> None:
    menu = ["Home", "News", "Sport", "Weather", "Opinion", "Business", "Travel", "Jobs", "Cars"]
    text = "\n".join(
        menu
        + ["", "Council approves city budget", ""]
        + BODY[:2]
        + ["", "What comes next", ""]
        + BODY[2:]
        + ["", "Most read", "Storm hits coast", "Team wins cup", "Prices rise"]
    )
    result = Cleaner().clean(text)
    kept = [line for line in result.text.splitlines() if line.strip()]
    assert kept == ["Council approves city budget", *BODY[:2], "What comes next", *BODY[2:]]


def test_video_embed_title_and_caption() -> None:
    text = page(
        "Click to play video: 'Budget vote explained'\nBudget vote explained\n"
        "The council's budget chief said on Monday that the vote was close, in a video briefing."
    )
    rules = removed_rules(text)
    assert rules["Click to play video: 'Budget vote explained'"] == "media_embed"
    assert rules["Budget vote explained"] == "embed_caption"
    assert (
        rules["The council's budget chief said on Monday that the vote was close, in a video briefing."]
        == "embed_caption"
    )


def test_photo_alt_text_above_credit() -> None:
    rules = removed_rules(page("Jane Doe\nJane Doe | City Hall/John Smith, 2013"))
    assert rules == {"Jane Doe": "photo_alt", "Jane Doe | City Hall/John Smith, 2013": "photo_credit"}


@pytest.mark.parametrize("line", [BODY[0], BODY[0] + " It was the third vote this year."])
def test_repeated_paragraph_keeps_first(line: str) -> None:
    result = Cleaner().clean(page(line, where=4))
    assert [(r.line, r.rule) for r in result.removed] == [(11, "repeated_paragraph")]
    assert result.text.count(BODY[0]) == 1


def test_removed_lines_have_original_numbers_and_order_is_kept() -> None:
    text = page("Advertisement", "Share this article")
    result = Cleaner().clean(text)
    lines = text.split("\n")
    for r in result.removed:
        assert lines[r.line - 1] == r.text
    kept = [line for line in result.text.split("\n") if line.strip()]
    assert kept == [
        line for line in lines if line.strip() and line not in {"Advertisement", "Share this article"}
    ]


def test_no_runs_of_blank_lines_after_removal() -> None:
    result = Cleaner().clean(page("Advertisement", "Related Articles", "Share this article"))
    assert "\n\n\n" not in result.text
    assert not result.text.startswith("\n")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = page("Advertisement").replace("\n", newline) + newline
    result = Cleaner().clean(text)
    assert [r.text for r in result.removed] == ["Advertisement"]
    assert result.text == page().replace("\n", newline) + newline
    assert result.removed[0].line == 7


@pytest.mark.parametrize(
    "text",
    [
        page(),
        page("Advertisement", "Related Articles"),
        page(BODY[1], where=4),
        "",
        "\n\n",
        "Advertisement\n",
    ],
)
def test_idempotent(text: str) -> None:
    cleaner = Cleaner()
    once = cleaner.clean(text)
    assert cleaner.clean(once.text).text == once.text


def test_unchanged_text_is_returned_as_is() -> None:
    text = page() + "\n"
    result = Cleaner().clean(text)
    assert result.text == text
    assert result.removed == () and result.removed_lines == 0
    assert result.kept_lines == 1 + len(BODY)


def test_other_languages_only_language_neutral_rules() -> None:
    german = [
        "Der Stadtrat hat am Dienstag den neuen Haushalt nach monatelangen Beratungen beschlossen.",
        "Nach Angaben der Verwaltung steigen die Ausgaben für Schulen und Straßen deutlich an.",
        "Anzeige",
        "Kritiker bemängeln, dass der Plan auf zu optimistischen Annahmen über die Einnahmen beruht.",
        "© 2008 Stadtanzeiger",
    ]
    rules = removed_rules("\n\n".join(german))
    assert rules == {"© 2008 Stadtanzeiger": "page_furniture"}


def test_disabled_rule_does_not_fire() -> None:
    text = page("Advertisement")
    assert removed_rules(text, config=CleanConfig(disabled_rules=frozenset({"ad_label"}))) == {}


def test_unknown_disabled_rule_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Cleaner(CleanConfig(disabled_rules=frozenset({"no_such_rule"})))


def test_user_phrases_and_patterns() -> None:
    config = CleanConfig(extra_phrases=("Read the Planet every day",), extra_patterns=(r"Ref\. \d+",))
    text = page("read the planet EVERY day", "Ref. 12345")
    assert removed_rules(text, config=config) == {
        "read the planet EVERY day": "user_phrase",
        "Ref. 12345": "user_pattern",
    }


def test_find_recurring_lines_and_rule() -> None:
    texts = [page("Daily Planet Network", f"Ticker {i}") for i in range(6)]
    recurring = find_recurring_lines(texts, CleanConfig(recurring_min_docs=5))
    assert normalize_line("Daily Planet Network") in recurring
    assert (
        normalize_line(BODY[0]) not in recurring
    )  # prose never counts (syndicated articles keep their body)
    assert normalize_line("Ticker 1") not in recurring
    result = Cleaner().clean(texts[0], recurring)
    assert {r.text: r.rule for r in result.removed}["Daily Planet Network"] == "recurring_line"
    assert find_recurring_lines(texts, CleanConfig(recurring_min_docs=0)) == frozenset()


def test_load_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'disable = ["byline"]\nphrases = ["Read the Planet"]\npatterns = ["Ref\\\\. \\\\d+"]\n'
        "recurring_min_docs = 3\nrecurring_min_fraction = 0.05\n",
        encoding="utf-8",
    )
    config = load_rules_file(path)
    assert config.disabled_rules == frozenset({"byline"})
    assert config.extra_phrases == ("Read the Planet",)
    assert config.extra_patterns == (r"Ref\. \d+",)
    assert config.recurring_min_docs == 3
    assert config.recurring_min_fraction == 0.05


@pytest.mark.parametrize(
    "content",
    [
        "disable = [",  # not TOML
        'disable = ["no_such_rule"]',
        'disable = "byline"',
        "phrases = [1, 2]",
        'patterns = ["(unclosed"]',
        "colour = true",
        "recurring_min_docs = -1",
        'recurring_min_fraction = "high"',
    ],
)
def test_bad_rules_file_is_a_one_line_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules_file(path)
    assert "\n" not in str(info.value)
    assert str(info.value).count(str(path)) == 1  # named once


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_rules_file(tmp_path / "missing.toml")


def _word_counts(native, table, line):
    """The word and stopword counts of the kernel's line_stats, or None where it leaves the line to Python."""
    stats = native.line_stats(table, line)
    return None if stats is None else stats[:2]


_ASCII_LINE = st.lists(st.sampled_from(list("aZ9_' '.,-''") + ["the", "The", "DON'T", "of", "a'", "'b", "x" * 70,
                                                                "rock'n'roll", "\t", "it's"]), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(_ASCII_LINE | st.text(st.characters(max_codepoint=127), max_size=80))
def test_compiled_word_counts_count_the_words_and_stopwords_python_finds(line: str):
    from dedupe.clean.rules import STOPWORDS, _ascii_words
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    words = _ascii_words(line.lower())
    assert words == [w.casefold() for w in _WORD_RE.findall(line)]  # the reference itself
    assert _word_counts(native, word_table(native, STOPWORDS), line) == (len(words), sum(w in STOPWORDS for w in words))


_MIXED_LINE = st.lists(st.sampled_from(["the", "The", "of", " ", "\u2019", "\u2018", "'", "\u2014", "\u00a3", "5", "caf\u00e9",
                                         ".", "!", "?", "\u2026", ")", "]", "\u201d", "\u00bb", '"', "\t", "\u3000", "-",
                                         "\u0130", "\u017fo", "\u00df", "\u201cso\u201d", "\u00a0", "x", "DON\u2019T",
                                         "\u2019s", "_", "\u00bd", "\u0663"]), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(_MIXED_LINE | st.text(max_size=60))
def test_line_features_count_any_line_as_the_word_pattern_does(line: str):
    from dedupe.clean.rules import STOPWORDS, LineFeatures

    compiled_kernels()
    words = [w.casefold() for w in _WORD_RE.findall(line)]  # the reference
    shapes = set()
    for off in ("", "1"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DEDUPE_NO_KERNELS", off)
            f = LineFeatures(line)
        assert f.n_words == len(words)
        assert f.stop_density == (sum(w in STOPWORDS for w in words) / len(words) if words else 0.0)
        assert f.folded_words == tuple(words)
        shapes.add((f.ends_sentence, f.norm))
    assert len(shapes) == 1  # the kernel's sentence ending and normalised line (line_stats) are Python's


@settings(max_examples=1000, deadline=None)
@given(_MIXED_LINE | st.text(max_size=60))
def test_compiled_word_counts_count_lines_without_non_ascii_words_or_leave_them(line: str):
    """The kernel's count is the pattern's own wherever it gives one, and it gives one exactly when
    no non-ASCII character of the line is a word character (alphanumeric)."""
    from dedupe.clean.rules import STOPWORDS
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    words = [w.casefold() for w in _WORD_RE.findall(line)]
    got = _word_counts(native, word_table(native, STOPWORDS), line)
    if any(not c.isascii() and c.isalnum() for c in line):
        assert got is None
    else:
        assert got == (len(words), sum(w in STOPWORDS for w in words))


def test_compiled_word_counts_on_curly_apostrophes_and_non_ascii_words():
    from dedupe.clean.rules import STOPWORDS
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    table = word_table(native, STOPWORDS)
    assert _word_counts(native, table, "It\u2019s \u00a3500 \u2014 for the \u201cfans\u201d") == (5, 2)  # it's 500 for the fans
    assert _word_counts(native, table, "DON\u2019T stop") == (2, 0)  # "don't" is not a listed stopword
    assert _word_counts(native, table, "the caf\u00e9") is None
    assert _word_counts(native, table, "\u2019\u2019the\u2019") == (1, 1)


_NORM_LINE = st.lists(st.sampled_from(["A", "b", "Z9", " ", "  ", "\t", "\x0b", "\x1c", "\x1f", "\x7f", "-", "_",
                                        "...", "'", "(", "\n", "\x00", "The", "caf\u00e9", "\u00a0"]),
                      max_size=20).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_NORM_LINE | st.text(st.characters(max_codepoint=127), max_size=60))
def test_compiled_line_normalization_is_normalize_lines_own(line: str):
    from dedupe.clean import rules

    native = compiled_kernels()
    got = native.normalize_ascii_line(line)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        expected = rules.normalize_line(line)
    if line.isascii():
        assert got == expected
        assert rules.normalize_line(line) == expected
    else:
        assert got is None


def test_cleaning_is_the_same_with_and_without_the_compiled_kernels(monkeypatch):
    """Line features counted by the kernels (words made only when a rule asks) or in Python."""
    from dedupe.clean import rules

    compiled_kernels()
    texts = [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent / "fixtures").rglob("*.txt"))]
    assert len(texts) >= 6
    results = {}
    for off in ("", "1"):
        monkeypatch.setenv("DEDUPE_NO_KERNELS", off)
        rules._cached_line_features.cache_clear()  # features are cached per text
        rules._cached_long_line_features.cache_clear()
        results[off] = [Cleaner().clean(t) for t in texts]
    assert results[""] == results["1"]


def test_line_patterns_are_refused_by_length_only_past_their_longest_match():
    import re
    import sys

    from dedupe.clean import rules

    assert rules._longest_match(re.compile(r"^(?:ab|cde)$")) == 3
    assert rules._longest_match(re.compile(r"^(?:a.{0,4}|b)$")) == 5
    assert rules._longest_match(re.compile(r"^a.*$")) == sys.maxsize
    # The longest lines the two whole-line tables take are still taken.
    longest_ad = "sponsored by " + "x" * 40
    assert len(longest_ad) == rules._AD_LABEL_LONGEST and rules._AD_LABEL.match(longest_ad)
    longest_furniture = "powered by " + "x" * 40
    assert len(longest_furniture) == rules._FURNITURE_LONGEST and rules._FURNITURE.match(longest_furniture)
    assert Cleaner().clean(f"{BODY[0]}\n\n{longest_ad.title()}\n\n{BODY[1]}\n").removed[0].rule == "ad_label"


_PROSE = "The council said on Monday that the new road would be open to traffic by the end of the year"
_TEXT_PIECES = st.sampled_from([
    _PROSE + ".", _PROSE + ".\u201d", _PROSE + ".) ", _PROSE, "Share this article", "  SHARE  \t THIS  ", "\u2019\u2019",
    "Advertisement", "caf\u00e9 menu", "\u0130stanbul news", "Read more \u00bb", "Read more \u2026", "12 May 2020",
    "\u00a0", " \u2028 ", "x\u2028y", "_", "--", "The end!", "it's the one that is not said", "\u201cSo\u201d", "\t",
    "Sign up: it is the one of the best for a and the", "Seven words that end in a stop here.",
    "Smith Jones Brown Green White Black Gray Hill Stone Wood", "Smith Jones Brown Green White said.",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(_TEXT_PIECES, st.sampled_from(["\n", "\r\n", "\r", "\n\n", " "])), max_size=12))
def test_compiled_recurring_line_keys_are_those_of_python(pieces):
    """The recurring-line count's kernel (recurring_keys, with Python for the lines it leaves) gives
    Python's keys on any text: line ends of every kind, blank lines of Unicode spaces, prose by
    each of its thresholds, non-ASCII words and separators."""
    from dedupe.clean import recurring_line_keys
    from dedupe.clean.rules import STOPWORDS
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    text = "".join(p + end for p, end in pieces)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        expected = recurring_line_keys(text)
    assert recurring_line_keys(text) == expected
    keys, rest = native.recurring_keys(word_table(native, STOPWORDS), text)
    assert all(key.isascii() and key for key in keys) and set(keys) <= expected


def test_compiled_recurring_keys_judge_prose_by_its_thresholds():
    from dedupe.clean.rules import STOPWORDS
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    table = word_table(native, STOPWORDS)
    lines = [
        "The council said that the road would be open.",  # 10 words, 6 stopwords: prose
        "Council members Smith Jones Brown Green White said.",  # 8 words, 0.125: not prose (< 0.2)
        "the council road open by the end of the year and the town",  # 13 words, no stop: not prose
        "the council road open by the end of the year and the town said on Monday",  # 16, 0.375: prose
        "The " + "Smith " * 24 + "of the town and end.",  # 30 words, 4 stopwords (0.133): prose
        "The " + "Smith " * 23 + "of the town and end.",  # 29 words, 4 stopwords (0.138): not prose
        "The " + "Smith " * 27 + "of the town.",  # 31 words, 3 stopwords (0.097): not prose
        "The " + "Smith " * 33 + "of the town and the end.",  # 40 words, 5 stopwords (0.125): prose
    ]
    keys, rest = native.recurring_keys(table, "\n".join(lines))
    assert keys == ["council members smith jones brown green white said",
                    "the council road open by the end of the year and the town",
                    normalize_line(lines[5]), normalize_line(lines[6])] and rest == []
    keys, rest = native.recurring_keys(table, "Caf\u00e9 menu\r\n\u00a0\r\u201cShare\u201d\n")
    assert keys == [] and rest == ["Caf\u00e9 menu", "\u201cShare\u201d"]


@pytest.mark.parametrize("line", ["The end of it.)", "Is it?\u201d ", "Wait\u2026 \u3000", "So.] x", "Done.\t", "(Note)",
                                  "x. )", "\u00bbQuoted.\u00bb", "It\u2019s \u2018here.\u2019", "Caf\u00e9 closed.",
                                  "  Menu  |  Home  ", "\u00a3500 \u2014 Price!", "--Hello--", ""])
def test_compiled_line_stats_are_the_python_features(line):
    """line_stats: the sentence ending (every closer and mark), the normalised line (None where it is
    Python's: non-ASCII) and the counts, as LineFeatures computes them without kernels."""
    from dedupe.clean.rules import STOPWORDS, LineFeatures
    from dedupe.similarity.native import word_table

    native = compiled_kernels()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUPE_NO_KERNELS", "1")
        ref = LineFeatures(line)
    stats = native.line_stats(word_table(native, STOPWORDS), line)
    if stats is not None:
        assert stats == (ref.n_words, round(ref.stop_density * ref.n_words), ref.ends_sentence,
                         ref.norm if line.isascii() else None)
    got = LineFeatures(line)
    assert (got.n_words, got.stop_density, got.ends_sentence, got.norm) == (
        ref.n_words, ref.stop_density, ref.ends_sentence, ref.norm)


def test_context_rules_skipped_by_their_needs_would_not_have_fired() -> None:
    """Rule.needs: the cleaner skips a context rule on documents where no rule it needs removed a
    line; running every context rule everywhere gives the same results."""
    import dataclasses

    fixtures = Path(__file__).parent / "fixtures"
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(fixtures.rglob("*.txt"))]
    texts += [
        page("Click to play video: 'Budget vote explained'\nBudget vote explained\nThe chief said so, on video."),
        page("Jane Doe\nJane Doe | City Hall/John Smith, 2013"),
        page("Enlarge this image\nA view of the river.\nPhoto by Jane Doe/Getty Images"),
        page("Budget vote explained\nBudget vote explained"),
    ]
    fast, every = Cleaner(), Cleaner()
    every._local_rules = {k: [dataclasses.replace(r, needs=None) for r in v] for k, v in every._local_rules.items()}
    assert any(r.needs for r in fast._local_rules[True])
    for text in texts:
        assert fast.clean(text) == every.clean(text)
