"""Check that the cleaner's shortcuts change nothing on a set of real texts.

The cleaner skips work: rules past their word limits, rules a line's screen keeps out, context rules
whose ``needs`` did not fire, the block pass of documents nothing is removed from (docs/clean.md,
"Rules"). ``Cleaner(shortcuts=False)`` does none of that. This script cleans every text under the
given paths both ways, with and without recurring lines (found on the texts themselves) and in
extracted mode, and reports any difference. Use it on data of your own after changing a rule or a
screen:

    python benchmarks/check_clean_shortcuts.py ../shared/data/clean-dev ../shared/data/dedup-dev

Texts: ``*.txt`` files, the ``text`` field of ``*.jsonl`` records, and the extracted article of
``*.html``/``*.htm`` pages (gzipped too: ``*.gz``). Exit status 1 when a cleaning differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

from dedupe.clean import Cleaner, find_recurring_lines
from dedupe.config import CleanConfig
from dedupe.extract import ExtractionError, extract_article


def read_texts(paths: list[str]) -> list[tuple[str, str]]:
    """``(where, text)`` for every text under ``paths``."""
    out: list[tuple[str, str]] = []
    files = sorted(f for p in map(Path, paths) for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    for f in files:
        name = f.name.lower()
        if name.endswith(".txt"):
            out.append((str(f), f.read_text(encoding="utf-8", errors="replace")))
        elif name.endswith(".jsonl"):
            with f.open(encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    try:
                        text = json.loads(line).get("text")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(text, str):
                        out.append((f"{f}:{n}", text))
        elif name.endswith((".html", ".htm", ".gz")):
            data = gzip.decompress(f.read_bytes()) if name.endswith(".gz") else f.read_bytes()
            try:
                out.append((str(f), extract_article(data.decode("utf-8", errors="replace")).text))
            except ExtractionError:
                continue
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="files or folders of texts")
    args = parser.parse_args()
    texts = read_texts(args.paths)
    if not texts:
        print("check_clean_shortcuts: error: no texts found", file=sys.stderr)
        return 2
    recurring = find_recurring_lines([t for _, t in texts], CleanConfig(recurring_min_docs=3, recurring_min_fraction=0.0))
    fast, every = Cleaner(), Cleaner(shortcuts=False)
    cleanings = removed = 0
    differ: list[str] = []
    seconds = {"shortcuts": 0.0, "reference": 0.0}
    for where, text in texts:
        for rec in (frozenset(), recurring):
            for extracted in (False, True):
                t0 = time.perf_counter()
                a = fast.clean(text, rec, extracted)
                t1 = time.perf_counter()
                b = every.clean(text, rec, extracted)
                seconds["shortcuts"] += t1 - t0
                seconds["reference"] += time.perf_counter() - t1
                cleanings += 1
                removed += bool(b.removed)
                if a != b:
                    differ.append(f"{where} (recurring={bool(rec)}, extracted={extracted})")
    print(f"{len(texts)} texts, {len(recurring)} recurring lines: {cleanings} cleanings, {removed} with removals, "
          f"{len(differ)} differ; {seconds['shortcuts']:.1f} s with the shortcuts, {seconds['reference']:.1f} s without")
    for d in differ[:20]:
        print("differs:", d)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
