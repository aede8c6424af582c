"""The seed pages: every non-blank line is either removed (listed here) or kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedupe.clean import Cleaner

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# 1-based line numbers (as in the files) that the cleaner must remove; all other non-blank lines stay.
EXPECTED_REMOVED: dict[str, set[int]] = {
    "000": {3, 4},
    "001": {1, 5, 6, 7, 17, 21, 23, 25, 26, 30, 31, 37, 49, 55, 57},
    "002": {17},
    "003": {1, 2, 8, 18, 24, 28, 30, 31, 33},
    "004": {5, 6, 26, 28, 30},
}


def _seed(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("prefix", sorted(EXPECTED_REMOVED))
def test_seed_removed_lines_exactly(prefix: str) -> None:
    text = _seed(prefix)
    result = Cleaner().clean(text)
    assert {r.line for r in result.removed} == EXPECTED_REMOVED[prefix]


@pytest.mark.parametrize("prefix", sorted(EXPECTED_REMOVED))
def test_seed_every_other_line_kept_in_order(prefix: str) -> None:
    text = _seed(prefix)
    result = Cleaner().clean(text)
    lines = text.splitlines()
    expected = [line for n, line in enumerate(lines, 1) if line.strip() and n not in EXPECTED_REMOVED[prefix]]
    assert [line for line in result.text.splitlines() if line.strip()] == expected
    assert result.kept_lines == len(expected)
    assert result.removed_lines == len(EXPECTED_REMOVED[prefix])


@pytest.mark.parametrize("prefix", sorted(EXPECTED_REMOVED))
def test_seed_removed_text_matches_original_line(prefix: str) -> None:
    lines = _seed(prefix).splitlines()
    for removed in Cleaner().clean("\n".join(lines)).removed:
        assert removed.text == lines[removed.line - 1]
        assert removed.rule


@pytest.mark.parametrize("prefix", sorted(EXPECTED_REMOVED))
def test_seed_cleaning_is_idempotent(prefix: str) -> None:
    cleaner = Cleaner()
    once = cleaner.clean(_seed(prefix))
    twice = cleaner.clean(once.text)
    assert twice.text == once.text
    assert twice.removed == ()


def test_seed_000_keeps_first_copy_of_repeated_lede() -> None:
    result = Cleaner().clean(_seed("000"))
    (rep,) = [r for r in result.removed if r.line == 3]
    assert rep.rule == "repeated_paragraph"


def test_seed_002_keeps_headline_and_subheadings() -> None:
    text = Cleaner().clean(_seed("002")).text
    for heading in (
        "China tries to prevent the UN rights chief",
        "Report on China’s Xinjiang region",
        "More about the letter",
    ):
        assert heading in text
