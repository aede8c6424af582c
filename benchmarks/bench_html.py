"""Benchmark HTML input on the clean-dev set: trafilatura alone versus dedupe's HTML path.

Usage::

    .venv/bin/python benchmarks/bench_html.py [DATA_DIR] [--split all|tune|check] [--keep OUT]

``DATA_DIR`` (default ``../shared/data/clean-dev``) holds ``score.py``, ``l3s/html/<id>.html.gz``
and ``l3s/gold``. In the same run, on the same pages, it scores:

- ``trafilatura`` alone, as a user would call it on the page's bytes
  (``trafilatura.extract(data)``, with comments, its default) and with ``include_comments=False``;
- ``dedupe``: what ``dedupe clean page.html`` prints, i.e. :func:`dedupe.io.iter_documents`
  (our charset decoding, trafilatura with :class:`ExtractConfig` defaults, headline first) and
  the cleaner in its extracted-text mode, one page at a time (no batch recurring lines,
  as with ``score.py --cmd 'dedupe clean {in}'``).

``--settings`` also scores trafilatura alone with ``favor_recall``, ``favor_precision`` and
``include_tables=False`` (each without comments), to show how the extraction settings were chosen.

Pages from which nothing is extracted count as empty output (recall 0) for every system.
Each output set is scored with the set's ``score.py --outdir``. The split is the one of
``bench_clean.py`` (first byte of the SHA-1 of the id even: ``tune``, else ``check``).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_clean import in_split, score  # noqa: E402

from dedupe.io import ReadOptions, iter_documents  # noqa: E402
from dedupe.pipeline import clean_documents  # noqa: E402

SYSTEMS = ("trafilatura", "trafilatura_no_comments", "dedupe")
# --settings: trafilatura alone with other settings (how ExtractConfig's defaults were chosen).
SETTINGS = {
    "no_comments+favor_recall": {"include_comments": False, "favor_recall": True},
    "no_comments+favor_precision": {"include_comments": False, "favor_precision": True},
    "no_comments+no_tables": {"include_comments": False, "include_tables": False},
}


def _run_page(job: tuple[str, str, str, bool]) -> tuple[str, dict[str, str], float]:
    """All systems on one page; returns the outputs and dedupe's seconds."""
    import trafilatura

    doc_id, gz_path, tmp, settings = job
    data = gzip.decompress(Path(gz_path).read_bytes())
    outputs = {
        "trafilatura": trafilatura.extract(data) or "",
        "trafilatura_no_comments": trafilatura.extract(data, include_comments=False) or "",
    }
    if settings:
        for name, kwargs in SETTINGS.items():
            outputs[name] = trafilatura.extract(data, **kwargs) or ""
    page = Path(tmp) / f"{doc_id}.html"
    page.write_bytes(data)
    t0 = time.perf_counter()
    docs = list(iter_documents([str(page)], ReadOptions()))
    outputs["dedupe"] = clean_documents(docs)[0].text if docs else ""
    seconds = time.perf_counter() - t0
    page.unlink()
    return doc_id, outputs, seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=REPO.parent / "shared" / "data" / "clean-dev")
    ap.add_argument("--split", choices=["all", "tune", "check"], default="all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="also copy dedupe's outputs to this directory")
    ap.add_argument("--settings", action="store_true", help="also score trafilatura alone with other settings")
    opts = ap.parse_args(argv)
    systems = (*SYSTEMS, *SETTINGS) if opts.settings else SYSTEMS

    src = opts.data / "l3s"
    score_py = opts.data / "score.py"
    pages = sorted(p for p in (src / "html").glob("*.html.gz") if in_split(p.name[: -len(".html.gz")], opts.split))
    ids = [p.name[: -len(".html.gz")] for p in pages]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        set_dir = root / "set"
        for d in (set_dir / "in", set_dir / "gold", root / "pages", *(root / s for s in systems)):
            d.mkdir(parents=True)
        for doc_id in ids:
            (set_dir / "in" / f"{doc_id}.txt").symlink_to((src / "in" / f"{doc_id}.txt").resolve())
            (set_dir / "gold" / f"{doc_id}.txt").symlink_to((src / "gold" / f"{doc_id}.txt").resolve())
        t0 = time.perf_counter()
        dedupe_seconds = 0.0
        jobs = [(doc_id, str(p), str(root / "pages"), opts.settings) for doc_id, p in zip(ids, pages)]
        with Pool(opts.workers) as pool:
            for doc_id, outputs, seconds in pool.imap_unordered(_run_page, jobs, chunksize=4):
                dedupe_seconds += seconds
                for system, text in outputs.items():
                    (root / system / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        wall = time.perf_counter() - t0
        if opts.keep:
            shutil.rmtree(opts.keep, ignore_errors=True)
            shutil.copytree(root / "dedupe", opts.keep)
        results = {s: score(score_py, set_dir, ["--outdir", str(root / s)]) for s in systems}
    print(f"split={opts.split} pages={len(ids)} wall_seconds={wall:.1f} dedupe_cpu_seconds={dedupe_seconds:.1f}")
    for system in systems:
        line, low = results[system]
        print(f"{system:<28} {line}  recall<0.8={low}")
    ours = _numbers(results["dedupe"][0])
    for base in ("trafilatura", "trafilatura_no_comments"):
        theirs = _numbers(results[base][0])
        diff = "  ".join(f"{k}={ours[k] - theirs[k]:+.4f}" for k in ("f1", "p", "r"))
        print(f"dedupe - {base:<19} {diff}")
    return 0


def _numbers(line: str) -> dict[str, float]:
    """``f1=.. p=.. r=..`` of a score line (the precise four-decimal values)."""
    out = {}
    for part in line.split()[:3]:
        key, _, value = part.partition("=")
        out[key] = float(value)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
