"""CPU cost per document of the cleaner's hot path (``dedupe scan`` cleans every document).

Usage::

    .venv/bin/python benchmarks/bench_clean_speed.py [JSONL ...] [--limit N] [--repeat R]

Default input: the first 3,000 documents of ``../bench/corpus-10000.jsonl`` (news-like texts of
~350 words). Prints CPU microseconds per document (``time.process_time``, so another busy core
does not skew it; best of ``--repeat`` runs) for:

* ``recurring_line_keys`` with cold line-feature caches (the batch's first look at a text),
* ``Cleaner.clean`` after ``recurring_line_keys`` has seen the texts (as in ``scan``),
* ``Cleaner.clean`` with cold caches.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from dedupe.clean import Cleaner, recurring_line_keys, rules  # noqa: E402
from dedupe.io import iter_documents  # noqa: E402


def clear_caches() -> None:
    """Empty every ``functools`` cache of the rules module (the line-feature caches)."""
    for value in vars(rules).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()


def per_doc_us(
    texts: list[str], fn: Callable[[str], object], repeat: int, warm: Callable[[str], object] | None = None
) -> float:
    """Best-of-``repeat`` CPU microseconds per text of ``fn``, each run from cold caches, or from
    caches that ``warm`` (untimed) has filled over the texts."""
    best = float("inf")
    for _ in range(repeat):
        clear_caches()
        if warm is not None:
            for text in texts:
                warm(text)
        t0 = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - t0)
    return best / len(texts) * 1e6


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[str(REPO.parent / "bench" / "corpus-10000.jsonl")])
    ap.add_argument("--limit", type=int, default=3000, help="documents to use (default 3000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure, best kept (default 3)")
    opts = ap.parse_args(argv)

    texts = []
    for doc in iter_documents(opts.paths):
        texts.append(doc.text)
        if len(texts) >= opts.limit:
            break
    cleaner = Cleaner()
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"{len(texts)} documents, {words:.0f} words each on average")
    keys_cold = per_doc_us(texts, recurring_line_keys, opts.repeat)
    print(f"recurring_line_keys (cold): {keys_cold:8.1f} us/doc")
    clean_warm = per_doc_us(texts, cleaner.clean, opts.repeat, warm=recurring_line_keys)
    print(f"Cleaner.clean (after keys): {clean_warm:8.1f} us/doc")
    print(f"Cleaner.clean (cold):       {per_doc_us(texts, cleaner.clean, opts.repeat):8.1f} us/doc")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
