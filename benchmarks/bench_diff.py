"""Time ``dedupe diff`` on two long articles (10,000 sentences each by default).

Usage::

    .venv/bin/python benchmarks/bench_diff.py [--sentences N] [--seed S]

The texts are synthetic and deterministic: sentences of 8-24 words drawn from the seed articles'
words (80%) and from a tail of rare made-up words (20%), five sentences a paragraph. Three pairs:

* ``near``: a copy with typos in every third sentence, the second half moved in front of the
  first, and 1% of the sentences dropped (copy alignment, moved sentences);
* ``third``: the first third of the text (containment);
* ``unrelated``: two independent texts (content alignment over everything).

For each pair it prints the verdict, the seconds of the whole diff (cleaning, fingerprints, the
verdict with every score, the diff model), of the cleaning alone and of the two alignments alone.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from dedupe.config import ScanConfig  # noqa: E402
from dedupe.diff import diff_documents  # noqa: E402
from dedupe.models import Document  # noqa: E402
from dedupe.pipeline import clean_documents  # noqa: E402
from dedupe.similarity.align import align_content, align_copies, prepare_sentences  # noqa: E402


def make_sentences(n: int, rng: random.Random) -> list[str]:
    """``n`` synthetic sentences over the seed articles' vocabulary plus rare words."""
    words = re.findall(r"[A-Za-z]+", " ".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "seeds").glob("*.txt"))))
    tail = ["".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
            for _ in range(50_000)]  # fmt: skip
    out = []
    for _ in range(n):
        ws = [rng.choice(words) if rng.random() < 0.8 else rng.choice(tail) for _ in range(rng.randint(8, 24))]
        out.append(" ".join(ws).capitalize() + ".")
    return out


def typo(sentence: str, rng: random.Random) -> str:
    """Change one letter of one word of four letters or more."""
    ws = sentence.split()
    k = [i for i, w in enumerate(ws) if len(w) >= 4]
    if not k:
        return sentence
    i = rng.choice(k)
    j = rng.randrange(1, len(ws[i]) - 1)
    ws[i] = ws[i][:j] + rng.choice("aeiou") + ws[i][j + 1 :]
    return " ".join(ws)


def as_text(sentences: list[str]) -> str:
    return "\n\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    n = args.sentences
    a = make_sentences(n, rng)
    near = [typo(s, rng) if i % 3 == 0 else s for i, s in enumerate(a)]
    near = near[n // 2 :] + near[: n // 2]
    near = [s for i, s in enumerate(near) if i % 100 != 50]
    pairs = {"near": near, "third": a[: n // 3], "unrelated": make_sentences(n, rng)}
    config = ScanConfig()
    doc_a = Document("a", as_text(a), "a", 0)
    print(f"{n} sentences in A")
    for name, b in pairs.items():
        doc_b = Document(name, as_text(b), name, 1)
        t0 = time.perf_counter()
        result = diff_documents(doc_a, doc_b, config)
        total = time.perf_counter() - t0
        sa, sb = prepare_sentences(doc_a.text), prepare_sentences(doc_b.text)
        t0 = time.perf_counter()
        clean_documents([doc_a, doc_b])
        t_clean = time.perf_counter() - t0
        t0 = time.perf_counter()
        align_copies(sa, sb, config.sentence_ratio)
        t_copies = time.perf_counter() - t0
        t0 = time.perf_counter()
        align_content(sa, sb, config.sentence_overlap)
        t_content = time.perf_counter() - t0
        print(
            f"{name:<10} B={len(b):>6} sentences  verdict={result.verdict:<10} "
            f"pairs={len(result.pairs):>6} moved={len(result.moved):>6} "
            f"only_a={len(result.only_a):>6} only_b={len(result.only_b):>6}  "
            f"diff {total:6.2f}s  (of which cleaning {t_clean:5.2f}s; "
            f"align_copies alone {t_copies:5.2f}s, align_content alone {t_content:5.2f}s)"
        )


if __name__ == "__main__":
    main()
