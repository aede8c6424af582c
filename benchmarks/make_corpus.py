"""Deterministic generator of news-like JSONL corpora with planted near-duplicates.

Usage:
    python benchmarks/make_corpus.py SOURCE_DIR OUT.jsonl --docs 100000 [--dup-rate 0.1] [--seed 1]

SOURCE_DIR is a folder of real articles (e.g. ../shared/data/dedup-dev/bbc). Each generated
document is a headline and about 350 words of sentences drawn independently from all source
articles (so it reads like news but is no copy of one), each sentence with a share ``--reword``
of its words replaced by words of the source vocabulary, drawn for this document.

Why reword: a few thousand source articles hold about 40,000 sentences, so at 100,000 documents
each sentence appears in about 40 unrelated documents and at 1,000,000 in about 400: any two
documents would share whole sentences far more often than unrelated news articles do, and a
deduplicator that verifies its candidates would be measured on pairs no real corpus has. With
25% of the words replaced, two documents that drew the same sentence still share some of its
words, but rarely a 5-gram (0.75**10 = 6%). ``--reword 0`` gives the corpora of the first
version of this script. A share ``--dup-rate`` of documents gets a
planted near-duplicate: the same text with word edits (substitutions, deletions, insertions) at a
rate drawn to spread the planted word-5-gram Jaccard over [0.5, 1.0]. The truth file
``OUT.truth.tsv`` lists ``a<TAB>b<TAB>jaccard`` for every planted pair (Jaccard of lowercase
alphanumeric word 5-grams, as in dedup-dev/pairs.tsv).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

WORD = re.compile(r"[a-z0-9]+")
SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def load_sources(root: Path) -> tuple[list[str], list[list[str]]]:
    titles, bodies = [], []
    for p in sorted(root.rglob("*.txt")):
        text = p.read_bytes().decode("utf-8", errors="replace")
        lines = [x.strip() for x in text.splitlines() if x.strip()]
        if len(lines) < 2:
            continue
        titles.append(lines[0])
        bodies.append([s for para in lines[1:] for s in SENT.split(para) if len(s.split()) >= 4])
    return titles, bodies


def make_doc(rng: random.Random, titles: list[str], pool: list[str], vocab: list[str], reword: float,
             words: int = 350) -> str:
    """A headline and paragraphs of 2-4 sentences, each sentence drawn independently from the pool
    and reworded (a share ``reword`` of its words replaced by vocabulary words)."""
    paras = []
    n = 0
    while n < words:
        para = [_reword(rng, rng.choice(pool), reword, vocab) for _ in range(rng.randint(2, 4))]
        n += sum(len(s.split()) for s in para)
        paras.append(" ".join(para))
    return "\n\n".join([rng.choice(titles), *paras])


_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


def _reword(rng: random.Random, sentence: str, rate: float, words: list[str]) -> str:
    """Replace a share ``rate`` of the words, keeping each word's punctuation and capital; the
    new words are drawn from the running text of the sources (so with news word frequencies)."""
    if rate <= 0:
        return sentence
    out = []
    for t in sentence.split(" "):
        if rng.random() < rate:
            head, _, tail = _EDGES.match(t).groups()  # type: ignore[union-attr]
            new = rng.choice(words)
            t = head + (new.capitalize() if t[len(head):len(head) + 1].isupper() else new) + tail
        out.append(t)
    return " ".join(out)


def perturb(rng: random.Random, text: str, rate: float, vocab: list[str]) -> str:
    tokens = text.split(" ")
    out = []
    for t in tokens:
        r = rng.random()
        if r < rate / 3:
            continue  # deletion
        if r < 2 * rate / 3:
            out.append(rng.choice(vocab))  # substitution
            continue
        out.append(t)
        if r < rate:
            out.append(rng.choice(vocab))  # insertion
    return " ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--dup-rate", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reword", type=float, default=0.25, help="share of each drawn sentence's words replaced")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    titles, bodies = load_sources(args.source)
    pool = [s for b in bodies for s in b]
    vocab = sorted({w for s in pool[:5000] for w in s.split()})
    words = [w.lower() for s in pool for w in re.findall(r"\w+", s)]  # running text: news frequencies
    truth = []
    n = 0
    with args.out.open("w", encoding="utf-8") as fh:
        while n < args.docs:
            text = make_doc(rng, titles, pool, words, args.reword)
            fh.write(json.dumps({"id": f"d{n:07d}", "text": text}) + "\n")
            n += 1
            if n < args.docs and rng.random() < args.dup_rate:
                dup = perturb(rng, text, rng.uniform(0.0, 0.08), vocab)
                fh.write(json.dumps({"id": f"d{n:07d}", "text": dup}) + "\n")
                truth.append((f"d{n - 1:07d}", f"d{n:07d}", round(jaccard(text, dup), 4)))
                n += 1
    with args.out.with_suffix(".truth.tsv").open("w") as fh:
        fh.write("a\tb\tjaccard\n")
        for a, b, j in truth:
            fh.write(f"{a}\t{b}\t{j}\n")
    print(f"wrote {n} documents and {len(truth)} planted pairs to {args.out}")


if __name__ == "__main__":
    main()
