"""Benchmark the boilerplate cleaner on the clean-dev set (L3S-GN1 news pages).

Usage::

    .venv/bin/python benchmarks/bench_clean.py [DATA_DIR] [--split all|tune|check] [--keep OUT]

``DATA_DIR`` (default ``../shared/data/clean-dev``, relative to the repository root) holds
``score.py`` and ``l3s/in``, ``l3s/gold``. The cleaner runs in-process over ``l3s/in/*.txt``
(with batch recurring-line detection over the split), writes the outputs to a temporary
directory and runs ``score.py`` on them; the raw-text baseline is scored in the same run.

The split is fixed and content-independent: a page is in ``tune`` when the first byte of
the SHA-1 of its id is even, else in ``check``. Prints F1/P/R and the number of pages with
recall < 0.8 for the cleaner and for the raw text.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from dedupe.clean import Cleaner, find_recurring_lines  # noqa: E402
from dedupe.config import CleanConfig  # noqa: E402

_LAST_LINE = re.compile(r"f1=([\d.]+) p=([\d.]+) r=([\d.]+) docs=(\d+) failed=(\d+)")
_LOW_RECALL = re.compile(r"recall\s*<\s*0\.8\D*?(\d+)", re.IGNORECASE)


def in_split(doc_id: str, split: str) -> bool:
    """Whether a page id belongs to the split (``all``, ``tune`` or ``check``)."""
    if split == "all":
        return True
    even = hashlib.sha1(doc_id.encode()).digest()[0] % 2 == 0
    return even if split == "tune" else not even


def score(score_py: Path, set_dir: Path, args: list[str]) -> tuple[str, str]:
    """Run score.py and return its summary line and its 'recall < 0.8' count."""
    proc = subprocess.run(
        [sys.executable, str(score_py), "--set", str(set_dir), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    out = proc.stdout
    last = next((line for line in reversed(out.splitlines()) if _LAST_LINE.search(line)), "?")
    precise = dict(re.findall(r"^(precision|recall|F1)\b.*?([\d.]+)$", out, re.MULTILINE))
    if precise:
        f1, p, r = precise.get("F1"), precise.get("precision"), precise.get("recall")
        last = f"f1={f1} p={p} r={r}  ({last.strip()})"
    low = _LOW_RECALL.search(out)
    return last.strip(), low.group(1) if low else "?"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=REPO.parent / "shared" / "data" / "clean-dev")
    ap.add_argument("--split", choices=["all", "tune", "check"], default="all")
    ap.add_argument("--keep", type=Path, help="also copy the outputs to this directory")
    ap.add_argument("--no-recurring", action="store_true", help="skip batch recurring-line detection")
    opts = ap.parse_args(argv)

    src = opts.data / "l3s"
    score_py = opts.data / "score.py"
    paths = sorted(p for p in (src / "in").glob("*.txt") if in_split(p.stem, opts.split))
    texts = {p.stem: p.read_text(encoding="utf-8") for p in paths}

    config = CleanConfig()
    cleaner = Cleaner(config)
    t0 = time.perf_counter()
    recurring = frozenset() if opts.no_recurring else find_recurring_lines(texts.values(), config)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # score.py reads in/ and gold/ of the set: link the split's pages into a private set dir.
        set_dir, out_dir, raw_dir = root / "set", root / "out", root / "raw"
        for d in (set_dir / "in", set_dir / "gold", out_dir, raw_dir):
            d.mkdir(parents=True)
        for doc_id, text in texts.items():
            (set_dir / "in" / f"{doc_id}.txt").symlink_to((src / "in" / f"{doc_id}.txt").resolve())
            (set_dir / "gold" / f"{doc_id}.txt").symlink_to((src / "gold" / f"{doc_id}.txt").resolve())
            (out_dir / f"{doc_id}.txt").write_text(cleaner.clean(text, recurring).text, encoding="utf-8")
            (raw_dir / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        elapsed = time.perf_counter() - t0
        if opts.keep:
            shutil.rmtree(opts.keep, ignore_errors=True)
            shutil.copytree(out_dir, opts.keep)
        ours, ours_low = score(score_py, set_dir, ["--outdir", str(out_dir)])
        raw, raw_low = score(score_py, set_dir, ["--outdir", str(raw_dir)])
    print(
        f"split={opts.split} docs={len(texts)} recurring_lines={len(recurring)} clean_seconds={elapsed:.1f}"
    )
    print(f"cleaner   {ours}  recall<0.8={ours_low}")
    print(f"baseline  {raw}  recall<0.8={raw_low}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
