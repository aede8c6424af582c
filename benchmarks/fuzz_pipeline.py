"""Fuzz the text pipeline with hypothesis: clean, normalize, shingle, sentence split, compare, diff.

Every generated text goes through :class:`dedupe.clean.Cleaner` (checked: the output's lines are
a subsequence of the input's, and cleaning again changes nothing), :func:`dedupe.pipeline.fingerprint`,
:func:`dedupe.similarity.align.prepare_sentences`, and, paired with an edited copy of itself,
:func:`dedupe.diff.diff_documents` (which runs :func:`dedupe.pipeline.compare_documents`; half
the pairs cleaned, half raw). Texts mix arbitrary code points (control characters, lone surrogates, RTL, emoji,
combining marks), pieces of the seed articles, scraping cruft, huge repeated tokens and long runs
of spaces and punctuation.

    python benchmarks/fuzz_pipeline.py --examples 100000 --seed 1

Prints the number of inputs run, the time taken and the slowest input; exits 1 with the
(shrunk) failing input on the first crash or broken property.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from dedupe.clean import Cleaner
from dedupe.clean.cleaner import split_lines
from dedupe.config import ScanConfig
from dedupe.diff import diff_documents
from dedupe.models import Document
from dedupe.pipeline import fingerprint
from dedupe.similarity.align import prepare_sentences

ROOT = Path(__file__).resolve().parent.parent
SEED_LINES = [
    line for p in sorted((ROOT / "seeds").glob("*.txt")) for line in p.read_text(encoding="utf-8").splitlines()
] or ["The minister said on Tuesday that the plan would go ahead."]
CRUFT = [
    "Advertisement", "Share this article", "Facebook", "Twitter", "Email", "Skip to content",
    "Home | World | Politics | Business | Sport", "Sign up for our newsletter to get the day's top stories.",
    "Related Articles", "© 2024 Example Media. All rights reserved.", "Click to play video: 'Storm hits coast'",
    "Photo: Jane Doe | Reuters", "By John Smith, Staff Writer", "06.01.2008 01:07", "Comments (12)",
    "Posted by reader on 12:30", "Reply", "WEEKLY FEATURE : Markets", "For more, visit example.com!!!!",
    "We use cookies to improve your experience. By continuing you agree to our cookie policy.",
]  # fmt: skip
ODD = [
    "\u202eRTL override", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd.", "\u0645\u0631\u062d\u0628\u0627.",
    "\U0001f600\U0001f469\u200d\U0001f4bb", "e\u0301\u0301\u0301", "\ufeff", "\u00ad", "\u200b", "\ud800", "\udfff",
    "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\r", "\r\n", "\t", "Mr.", "U.S.", "J.", "...",
    "\u201cQuote.\u201d", "\uff1a", "\u2014", "\u0130", "\ufb01", "\u00df", "\u2460", "\u0663",
]  # fmt: skip

_chars = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
_piece = st.one_of(
    st.text(_chars, max_size=40),
    st.sampled_from(SEED_LINES),
    st.sampled_from(CRUFT),
    st.sampled_from(ODD),
    st.builds(lambda t, n: t * n, st.sampled_from(["a", "word ", " ", ".", "!", "|", "Mr. A ", "J. ", "-", "\u00a0", "x" * 50]),
              st.integers(1, 2000)),
)
_line = st.lists(_piece, max_size=6).map("".join)
texts = st.lists(_line, max_size=16).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\r", "\n\n"]).map(lambda nl: nl.join(lines))
)
edits = st.sampled_from(["same", "drop_first", "drop_last", "reverse", "upper", "append", "prepend"])


def edit(text: str, how: str) -> str:
    lines = text.splitlines()
    if how == "drop_first":
        lines = lines[1:]
    elif how == "drop_last":
        lines = lines[:-1]
    elif how == "reverse":
        lines = lines[::-1]
    elif how == "upper":
        return text.upper()
    elif how == "append":
        lines = [*lines, SEED_LINES[len(text) % len(SEED_LINES)]]
    elif how == "prepend":
        lines = [CRUFT[len(text) % len(CRUFT)], *lines]
    return "\n".join(lines)


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


class Stats:
    count = 0
    slowest = 0.0
    slowest_len = 0


def check(text: str, how: str) -> None:
    started = time.perf_counter()
    cleaner = Cleaner()
    config = ScanConfig()
    res = cleaner.clean(text)
    assert is_subsequence(split_lines(res.text)[0], split_lines(text)[0]), "clean added or reordered lines"
    assert cleaner.clean(res.text).text == res.text, "clean is not idempotent"
    fingerprint(0, text, config)
    prepare_sentences(text)
    other = edit(text, how)
    a = Document(id="a", text=text, source="a", index=0)
    b = Document(id="b", text=other, source="b", index=1)
    result = diff_documents(a, b, config if len(text) % 2 else ScanConfig(clean=False))  # runs compare_documents
    assert result.verdict in ("exact", "near", "paraphrase", "different")
    result.to_dict()
    took = time.perf_counter() - started
    Stats.count += 1
    if Stats.count % 10_000 == 0:
        print(f"... {Stats.count} inputs", file=sys.stderr, flush=True)
    if took > Stats.slowest:
        Stats.slowest, Stats.slowest_len = took, len(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(texts, edits)
    def run(text: str, how: str) -> None:
        check(text, how)

    started = time.perf_counter()
    try:
        run()
    except Exception as exc:  # report the shrunk failing example hypothesis printed
        print(f"CRASH after {Stats.count} inputs: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(f"inputs: {Stats.count}  crashes: 0  seconds: {seconds:.1f}  "
          f"inputs/s: {Stats.count / seconds:.1f}  slowest: {Stats.slowest:.3f}s ({Stats.slowest_len} chars)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
