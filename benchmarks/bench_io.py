"""Input at scale: a 2 GB JSONL file, one 100 MB line, 100,000 small files.

Each case runs in a child process and reports its wall time and peak RSS:

* ``jsonl``: read every record of a generated JSONL file of ``--jsonl-gb`` GB with
  :func:`dedupe.io.iter_documents` (streamed). Baseline, same run: the old reader (whole file read,
  decoded and split) on the first ``--baseline-mb`` MB of the same file; both are reported as peak
  RSS per byte of input, and the ratio of the two.
* ``line``: ``dedupe clean`` and ``dedupe scan`` of a file that is one line of ``--line-mb`` MB,
  with the time per MB against a 10 MB line (linear time gives a ratio near 1).
* ``files``: ``dedupe scan`` of ``--files`` small files in one directory.

    python benchmarks/bench_io.py                       # everything, in a temporary directory
    python benchmarks/bench_io.py --only jsonl --jsonl-gb 0.5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (  # noqa: SIM905 - a sentence reads better than a list of words
    "the council approved new budget after long debate about school funding officials said plan would cut "
    "waiting times city clinics by end of year minister told reporters on Tuesday that markets rallied "
    "central bank held rates steady police arrested man storm hit coast thousands of homes without power"
).split()

READ_ALL = """
import sys, time
from dedupe.io import iter_documents, ReadOptions
t = time.perf_counter(); n = chars = 0
for doc in iter_documents([sys.argv[1]], ReadOptions()):
    n += 1; chars += len(doc.text)
print(n, chars, round(time.perf_counter() - t, 2))
"""

# The reader before streaming: the whole file as bytes, decoded, split into lines, then parsed.
READ_WHOLE = """
import json, sys, time
t = time.perf_counter()
data = open(sys.argv[1], "rb").read(int(sys.argv[2]))
data = data[: data.rfind(b"\\n") + 1]
text = data.decode("utf-8")
n = chars = 0
for raw in text.splitlines():
    if raw.strip():
        rec = json.loads(raw); n += 1; chars += len(rec["text"])
print(n, chars, round(time.perf_counter() - t, 2))
"""


def measured(args: list[str]) -> tuple[str, float, int]:
    """Run ``args``; return its stdout, wall seconds and its own peak RSS in bytes (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:4])} failed ({proc.returncode}): {err.read()[-2000:].decode()}")
        return out.read().decode().strip(), seconds, usage.ru_maxrss * 1024


def make_jsonl(path: Path, size: int) -> int:
    rng = random.Random(1)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        written = 0
        while written < size:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 450))) + "."
            line = json.dumps({"id": f"doc-{n}", "url": f"https://example.com/{n}", "text": text}) + "\n"
            fh.write(line)
            written += len(line)
            n += 1
    return n


def bench_jsonl(work: Path, gb: float, baseline_mb: int) -> None:
    path = work / "big.jsonl"
    size = int(gb * (1 << 30))
    t = time.perf_counter()
    n = make_jsonl(path, size)
    size = path.stat().st_size
    print(f"jsonl: generated {size / 1e9:.2f} GB, {n:,} records in {time.perf_counter() - t:.0f}s", flush=True)
    out, secs, rss = measured([sys.executable, "-c", READ_ALL, str(path)])
    print(f"jsonl streamed   : {out.split()[0]} records, {secs:.1f}s, {size / secs / 1e6:.0f} MB/s, "
          f"peak RSS {rss / 1e6:.0f} MB = {rss / size:.3f} x file size", flush=True)
    cap = baseline_mb * 1_000_000
    out_b, secs_b, rss_b = measured([sys.executable, "-c", READ_WHOLE, str(path), str(cap)])
    print(f"baseline (whole) : first {cap / 1e6:.0f} MB, {out_b.split()[0]} records, {secs_b:.1f}s, "
          f"peak RSS {rss_b / 1e6:.0f} MB = {rss_b / cap:.3f} x bytes read", flush=True)
    print(f"jsonl ratio      : streamed RSS per input byte / whole-file RSS per input byte = "
          f"{(rss / size) / (rss_b / cap):.4f}", flush=True)
    path.unlink()


def bench_line(work: Path, line_mb: int) -> None:
    results = {}
    for mb in (10, line_mb):
        path = work / f"line{mb}.txt"
        rng = random.Random(2)
        with path.open("w", encoding="utf-8") as fh:
            written = 0
            while written < mb * 1_000_000:
                s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25))).capitalize() + ". "
                fh.write(s)
                written += len(s)
        for cmd in ("clean", "scan"):
            extra = ["--format", "json"] if cmd == "scan" else []
            _, secs, rss = measured([sys.executable, "-m", "dedupe", cmd, str(path), "--quiet", *extra])
            results[cmd, mb] = secs
            print(f"line {mb:>4} MB {cmd:<5}: {secs:.1f}s ({secs / mb:.2f} s/MB), peak RSS {rss / 1e6:.0f} MB",
                  flush=True)
        path.unlink()
    for cmd in ("clean", "scan"):
        ratio = (results[cmd, line_mb] / line_mb) / (results[cmd, 10] / 10)
        print(f"line {cmd:<5} ratio: s/MB at {line_mb} MB / s/MB at 10 MB = {ratio:.2f}", flush=True)


def bench_files(work: Path, n: int) -> None:
    d = work / "many"
    d.mkdir()
    rng = random.Random(3)
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
        (d / f"{i:06}.txt").write_text(f"Item {i}. {text}.\n", encoding="utf-8")
    out, secs, rss = measured([sys.executable, "-c", READ_ALL, str(d)])
    print(f"files {n:,}: read {out.split()[0]} documents in {secs:.1f}s, peak RSS {rss / 1e6:.0f} MB", flush=True)
    out, secs, rss = measured([sys.executable, "-m", "dedupe", "scan", str(d), "--format", "json", "--quiet"])
    stats = json.loads(out)["stats"]
    print(f"files {n:,}: scan {stats['documents']} documents, {stats['clusters']} clusters in {secs:.1f}s, "
          f"peak RSS {rss / 1e6:.0f} MB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["jsonl", "line", "files"], action="append")
    parser.add_argument("--jsonl-gb", type=float, default=2.0)
    parser.add_argument("--baseline-mb", type=int, default=256)
    parser.add_argument("--line-mb", type=int, default=100)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", help="where to generate the inputs (default: a temporary directory)")
    args = parser.parse_args()
    only = set(args.only or ["jsonl", "line", "files"])
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench_io.") as tmp:
        work = Path(tmp)
        if "jsonl" in only:
            bench_jsonl(work, args.jsonl_gb, args.baseline_mb)
        if "line" in only:
            bench_line(work, args.line_mb)
        if "files" in only:
            bench_files(work, args.files)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
