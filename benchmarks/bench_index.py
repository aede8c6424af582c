"""Add N news-sized documents to a SQLite index and query 1,000 new ones.

Usage::

    .venv/bin/python benchmarks/bench_index.py /work/shared/data/dedup-dev/bbc [--docs 100000] [--queries 1000]

Documents are generated from the real articles of the folder (fixed seed): each is a headline
and 5-9 paragraphs of 3-5 sentences drawn at random from the pool of all the articles' sentences,
with 15% of the longer words replaced by made-up words from a 200,000-word vocabulary. A 2,225-article
folder is far more inbred than a real 100,000-article archive; the sentence mixing and the extra
vocabulary keep the generated documents news-sized and news-worded but as unrelated to each other
as different stories are (without them every document would share whole paragraphs with hundreds
of others). The queries are 1,000 more such documents, of which
10% are copies of indexed documents with a paragraph dropped and a line of cruft added (they must
be found as ``near``) and 90% new ones.

Printed: add throughput (docs/s) and the index size on disk; query throughput and the peak memory
of the query process (a separate process, so the add phase does not count) next to the index size;
and the baseline measured in the same run: cleaning + fingerprinting + signatures of the same
documents without any index, so the ratio shows what storage costs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from dedupe.config import ScanConfig  # noqa: E402
from dedupe.index import add_paths  # noqa: E402
from dedupe.index.sqlite import SQLiteIndex  # noqa: E402
from dedupe.models import Document  # noqa: E402
from dedupe.pipeline import clean_documents, text_features  # noqa: E402
from dedupe.similarity.signature import Signer  # noqa: E402


def sentences(folder: Path) -> list[str]:
    out = []
    for p in sorted(folder.rglob("*.txt")):
        for para in p.read_text(encoding="utf-8", errors="replace").split("\n"):
            if len(para.split()) >= 12:
                out.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", para) if len(s.split()) >= 5)
    return out


def vocabulary(rng: random.Random, n: int) -> list[str]:
    syll = ["ka", "lo", "ven", "tri", "mar", "sel", "dor", "phi", "gan", "ber", "tus", "wil", "zan", "qui", "ro"]
    return ["".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def make_doc(rng: random.Random, pool: list[str], vocab: list[str], n: int) -> dict[str, str]:
    paras = []
    for _ in range(rng.randint(5, 9)):
        text = " ".join(rng.sample(pool, rng.randint(3, 5)))
        paras.append(re.sub(r"\b[a-z]{4,}\b", lambda m: rng.choice(vocab) if rng.random() < 0.15 else m.group(0), text))
    head = " ".join(paras[0].split()[:8]).rstrip(".,")
    return {"id": f"doc{n:06d}", "text": head + "\n\n" + "\n\n".join(paras) + "\n"}


def write_jsonl(path: Path, docs: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")


def query_child(index: str, queries: str) -> None:
    from dedupe.index import query_paths

    t0 = time.perf_counter()
    result = query_paths(index, [queries])
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    found = {q.id: q.matches for q in result.queries}
    copies = [i for i in found if i.startswith("copy")]
    hit = sum(1 for i in copies if any(m.id == "doc" + i[4:10] for m in found[i]))
    false = sum(1 for i, m in found.items() if i.startswith("new") and m)
    print(json.dumps({"seconds": seconds, "rss": rss, "copies": len(copies), "copies_found": hit,
                      "new_with_matches": false, "kinds": result.stats["kinds"],
                      "candidate_pairs": result.stats["candidate_pairs"]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="folder of real articles (.txt), e.g. /work/shared/data/dedup-dev/bbc")
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--baseline", type=int, default=2000, help="documents of the no-index baseline")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, help="directory for the index and the generated files (default: temp)")
    ap.add_argument("--query-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.query_child:
        query_child(*args.query_child)
        return
    pool = sentences(args.folder)
    rng = random.Random(args.seed)
    vocab = vocabulary(rng, 200_000)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_index_"))
    work.mkdir(parents=True, exist_ok=True)
    docs = [make_doc(rng, pool, vocab, n) for n in range(args.docs)]
    corpus = work / "corpus.jsonl"
    write_jsonl(corpus, docs)
    queries = []
    for n in range(args.queries):
        if n % 10 == 0:
            src = docs[rng.randrange(len(docs))]
            paras = src["text"].split("\n\n")
            del paras[rng.randrange(1, len(paras))]
            queries.append({"id": f"copy{src['id'][3:]}_{n}", "text": "\n\n".join(paras) + "\nShare this article\n"})
        else:
            queries.append({**make_doc(rng, pool, vocab, n), "id": f"new{n:06d}"})
    qfile = work / "queries.jsonl"
    write_jsonl(qfile, queries)
    mean_chars = sum(len(d["text"]) for d in docs) / len(docs)
    print(f"pool: {len(pool)} sentences from {args.folder}; {args.docs} documents of {mean_chars:.0f} chars on average")

    # Baseline: the work of `add` without an index: each batch cleaned, then fingerprinted and
    # signed in bulk (all of a document's content words, as the index keeps them).
    config = ScanConfig()
    signer = Signer(config.num_perm, config.seed)
    sample = [Document(d["id"], d["text"], "x", k) for k, d in enumerate(docs[: args.baseline])]
    t0 = time.perf_counter()
    for start in range(0, len(sample), args.batch_size):
        chunk = sample[start : start + args.batch_size]
        text_features([r.text for r in clean_documents(chunk)], config, None, signer)
    base_rate = len(sample) / (time.perf_counter() - t0)
    print(f"baseline (clean + fingerprint + signatures, no index): {base_rate:.0f} docs/s on {len(sample)} documents")

    index = work / "index.db"
    if index.exists():
        index.unlink()
    t0 = time.perf_counter()
    stats = add_paths(str(index), [str(corpus)], batch_size=args.batch_size)
    add_seconds = time.perf_counter() - t0
    db = SQLiteIndex(str(index))
    db.checkpoint()
    size = db.size_info()
    db.close()
    add_rate = stats["added"] / add_seconds
    print(f"add: {stats['added']} documents in {add_seconds:.1f}s = {add_rate:.0f} docs/s "
          f"(ratio to baseline {add_rate / base_rate:.2f}); timings {stats['timings']}")
    print(f"index size on disk: {size['bytes'] / 1e6:.1f} MB ({size['bytes'] / stats['added']:.0f} bytes/doc, "
          f"{size['band_entries']} band entries)")

    out = subprocess.run([sys.executable, __file__, str(args.folder), "--query-child", str(index), str(qfile)],
                         capture_output=True, text=True, check=True)
    q = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"query: {args.queries} documents in {q['seconds']:.1f}s = {args.queries / q['seconds']:.0f} docs/s; "
          f"{q['candidate_pairs']} candidates verified; kinds {q['kinds']}")
    print(f"  edited copies found: {q['copies_found']}/{q['copies']}; new documents with a match: "
          f"{q['new_with_matches']}")
    print(f"  query process peak RSS {q['rss'] / 1e6:.0f} MB vs index on disk {size['bytes'] / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
