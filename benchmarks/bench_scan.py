"""Throughput of `dedupe scan` against the plain datasketch loop, on the same corpus, in one run.

Usage:
    python benchmarks/bench_scan.py SOURCE_DIR --sizes 10000 100000 [--workdir /tmp/bench] [--jobs 0]

For each size, a corpus is generated with benchmarks/make_corpus.py from SOURCE_DIR (real
articles, e.g. ../shared/data/dedup-dev/bbc) unless it exists already. Then, each in its own
process:

* ``dedupe scan CORPUS --format json`` end to end (reading, cleaning, signatures, LSH,
  verification, clustering);
* the baseline: the plain datasketch loop (word 5-gram shingles from ``re.findall``,
  ``MinHash.update_batch`` with its default hashing, 128 permutations, ``MinHashLSH`` insert and
  query at threshold 0.5), one process.

dedupe's modules are compiled to bytecode first, as a regular install leaves them (see
``compile_bytecode``). Printed per run: seconds, documents/s, MB/s, peak RSS, the throughput ratio, and recall of the
planted pairs with Jaccard >= 0.8 (pairs in the same dedupe cluster; pairs returned by the
baseline's LSH query).

Short runs move with the machine's load (a 2-second scan of 10,000 documents by +-20% from one
run to the next on this project's 2-core virtual machine): corpora of up to 20,000 documents are
timed ``--repeat`` times (3 unless given), dedupe and the baseline taking turns, and the medians are
compared; every run's time is printed. Every repeat of dedupe must give the same clusters.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def baseline(corpus: Path, out: Path) -> None:
    """The plain datasketch loop; writes the candidate pairs it finds as JSON."""
    from datasketch import MinHash, MinHashLSH

    word = re.compile(r"[a-z0-9]+")
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    sigs = {}
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            words = word.findall(rec["text"].lower())
            shingles = {" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))}
            m = MinHash(num_perm=128)
            m.update_batch(shingles)
            lsh.insert(rec["id"], m)
            sigs[rec["id"]] = m
    pairs = set()
    for key, m in sigs.items():
        for other in lsh.query(m):
            if other != key:
                pairs.add(tuple(sorted((key, other))))
    out.write_text(json.dumps(sorted(pairs)))


def timed(cmd: list[str], stdout_path: Path) -> tuple[float, int]:
    """Run ``cmd`` under /usr/bin/time; returns (wall seconds, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf, stdout_path.open("w") as out:
        t0 = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd], stdout=out, check=True)
        wall = time.perf_counter() - t0
        rss_kb = int(tf.read().strip().splitlines()[-1])
    return wall, rss_kb // 1024


def compile_bytecode() -> None:
    """Compile dedupe's modules to bytecode before timing it, as a regular install (pip compiles what
    it installs) or a first run leaves them, and as the baseline's libraries are: an editable install
    has none, and where ``PYTHONDONTWRITEBYTECODE`` is set (this project's machines) every run would
    compile dedupe's sources again (about 0.3 s of a 3 s scan of 10,000 documents on a slow host)."""
    import importlib.util

    spec = importlib.util.find_spec("dedupe")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True, stdout=subprocess.DEVNULL)


def planted(truth: Path) -> set[tuple[str, str]]:
    rows = truth.read_text().splitlines()[1:]
    return {tuple(sorted(r.split("\t")[:2])) for r in rows if float(r.split("\t")[2]) >= 0.8}  # type: ignore[misc]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, nargs="?")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "dedupe-bench")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--scan-args", default="", help="more options for dedupe scan, e.g. '--no-paraphrase'")
    ap.add_argument("--reword", type=float, default=0.25, help="make_corpus.py --reword for new corpora")
    ap.add_argument("--repeat", type=int, help="runs of each side per size (default: 3 up to 20,000 documents, else 1)")
    ap.add_argument("--baseline-of", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--baseline-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat is not None and args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.baseline_of:
        baseline(args.baseline_of, args.baseline_out)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    dedupe = [sys.executable, "-m", "dedupe"]
    compile_bytecode()
    for size in args.sizes:
        corpus = args.workdir / f"corpus-{size}.jsonl"
        if not corpus.exists():
            subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(args.source), str(corpus),
                            "--docs", str(size), "--reword", str(args.reword)], check=True)
        mb = corpus.stat().st_size / 1e6
        truth = planted(corpus.with_suffix(".truth.tsv"))
        out = args.workdir / f"scan-{size}.json"
        bout = args.workdir / f"baseline-{size}.json"
        repeat = args.repeat or (3 if size <= 20_000 else 1)
        walls, rsss, bwalls, brsss, runs_data = [], [], [], [], []
        for k in range(repeat):
            # The two sides take turns, each starting every other round, so that a slow spell of the
            # machine (or a corpus not yet in the page cache) falls on both alike.
            for side in ("scan", "loop") if k % 2 == 0 else ("loop", "scan"):
                if side == "scan":
                    wall, rss = timed([*dedupe, "scan", str(corpus), "--format", "json", "--quiet", "--jobs",
                                       str(args.jobs), *args.scan_args.split()], out)
                    walls.append(wall)
                    rsss.append(rss)
                    runs_data.append(json.loads(out.read_text()))
                elif not args.skip_baseline:
                    bwall, brss = timed([sys.executable, __file__, "--baseline-of", str(corpus), "--baseline-out",
                                         str(bout)], args.workdir / "baseline.stdout")
                    bwalls.append(bwall)
                    brsss.append(brss)
        if any(d["clusters"] != runs_data[0]["clusters"] for d in runs_data):
            sys.exit(f"[{size} docs] dedupe scan gave different clusters from one run to the next")
        wall, rss = statistics.median(walls), max(rsss)
        data = runs_data[sorted(range(repeat), key=walls.__getitem__)[(repeat - 1) // 2]]  # the median run's
        runs = f" (median of {repeat}: {', '.join(f'{w:.2f}' for w in walls)} s)" if repeat > 1 else ""
        found = {tuple(sorted(p)) for c in data["clusters"]
                 for p in itertools.combinations([m["id"] for m in c["members"]], 2)}
        recall = len(truth & found) / len(truth) if truth else 1.0
        print(f"[{size} docs, {mb:.0f} MB] dedupe scan --jobs {args.jobs or os.cpu_count()} {args.scan_args}: {wall:.1f} s{runs}, "
              f"{size / wall:,.0f} docs/s, {mb / wall:.1f} MB/s, peak RSS {rss} MB, recall(J>=0.8) {recall:.3f} "
              f"({len(truth & found)}/{len(truth)}), candidates {data['stats']['candidate_pairs']}, "
              f"lsh collisions {data['stats']['lsh_collisions']}, "
              f"timings (of the median run) {data['stats']['timings']}")
        if args.skip_baseline:
            continue
        bwall, brss = statistics.median(bwalls), max(brsss)
        bruns = f" (median of {repeat}: {', '.join(f'{w:.2f}' for w in bwalls)} s)" if repeat > 1 else ""
        bpairs = {tuple(p) for p in json.loads(bout.read_text())}
        brecall = len(truth & bpairs) / len(truth) if truth else 1.0
        print(f"[{size} docs] datasketch loop: {bwall:.1f} s{bruns}, {size / bwall:,.0f} docs/s, {mb / bwall:.1f} MB/s, "
              f"peak RSS {brss} MB, recall(J>=0.8) {brecall:.3f}")
        print(f"[{size} docs] ratio dedupe/datasketch throughput: {bwall / wall:.2f}x")


if __name__ == "__main__":
    main()
