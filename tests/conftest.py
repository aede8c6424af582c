from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (a red build must be reproducible); locally, new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def compiled_kernels():
    """dedupe's compiled kernels; the test is skipped where they were not built, and fails under CI
    (which installs a C compiler)."""
    from dedupe.similarity import native

    if not native.built():
        if os.environ.get("CI"):
            pytest.fail("dedupe._kernels was not built (CI installs a C compiler)")
        pytest.skip("dedupe._kernels was not built (no C compiler)")
    return native._kernels


def seed_text(prefix: str) -> str:
    """The text of the seed whose name starts with ``prefix`` ("000" ... "004")."""
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def article_body(text: str) -> str:
    """Paragraphs of an article that are prose (no cruft lines), for building variants."""
    paras = [p for p in text.split("\n") if len(p.split()) >= 12]
    return "\n\n".join(paras)


CRUFT_TOP = "Skip to content\nHome | World | Politics | Business | Sport\nAdvertisement\n"
CRUFT_BOTTOM = (
    "\nShare this article\nFacebook\nTwitter\nEmail\n"
    "Sign up for our newsletter to get the day's top stories delivered to your inbox.\n"
    "Related Articles\nMarkets rally as rate fears ease\nTeam wins in extra time\n"
    "© 2024 Example Media. All rights reserved.\n"
)


def typo_noise(text: str, rate: float, seed: int = 7) -> str:
    """Replace one letter in about ``rate`` of the words (OCR-like noise), deterministically."""
    rng = random.Random(seed)

    def mangle(m: re.Match[str]) -> str:
        w = m.group(0)
        if len(w) < 4 or rng.random() >= rate:
            return w
        i = rng.randrange(1, len(w) - 1)
        return w[:i] + rng.choice("aeiourntls") + w[i + 1 :]

    return re.sub(r"[A-Za-z]+", mangle, text)


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
