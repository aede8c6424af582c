"""Recall and extra pairs of `dedupe scan` on the dedup-dev BBC set (naturally occurring duplicates).

Usage: python benchmarks/bench_dedup_dev.py [../shared/data/dedup-dev]

Prints pair recall against pairs.tsv, the verified pairs not listed there (which the README says
are partly real duplicates: spot-check them), kinds, and time.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

from dedupe.config import ScanConfig
from dedupe.pipeline import scan_paths


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dedup-dev")
    truth = set()
    for line in (root / "pairs.tsv").read_text().splitlines()[1:]:
        a, b, _ = line.split("\t")
        truth.add(frozenset((str(root / a), str(root / b))))
    t0 = time.perf_counter()
    result = scan_paths([str(root / "bbc")], ScanConfig())
    seconds = time.perf_counter() - t0
    found = set()
    kinds = {}
    for c in result.clusters:
        for x, y in itertools.combinations([m.id for m in c.members], 2):
            found.add(frozenset((x, y)))
        for m in c.members:
            kinds[m.id] = (m.kind, m.similarity)
    hit = len(truth & found)
    print(f"documents={result.stats['documents']} clusters={len(result.clusters)} seconds={seconds:.1f}")
    print(f"pair recall={hit / len(truth):.3f} ({hit}/{len(truth)}) found_pairs={len(found)} "
          f"unlisted_pairs={len(found - truth)}")
    print("stats:", result.stats["kinds"], "candidates:", result.stats["candidate_pairs"])
    for c in result.clusters:
        ids = [m.id for m in c.members]
        if any(frozenset(p) not in truth for p in itertools.combinations(ids, 2)):
            print("  unlisted:", " ".join(f"{Path(i).parent.name}/{Path(i).name}:{kinds[i][0]}:{kinds[i][1]}"
                                          for i in ids))
    missed = truth - found
    for p in sorted(map(sorted, missed)):
        print("  missed:", *p)


if __name__ == "__main__":
    main()
