"""Settings as dataclasses: defaults are defined here once and validated in ``__post_init__``.

The CLI shows these same defaults in ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dedupe.errors import ConfigError


# ---------------------------------------------------------------------------
# Cleaning (owned by the clean stage: src/dedupe/clean/)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanConfig:
    """Settings of the boilerplate cleaner.

    Attributes:
        disabled_rules: Names of registry rules that must not fire.
        extra_phrases: User phrases; a line equal to one of them (case-insensitive,
            after whitespace normalisation) is removed by the ``user_phrase`` rule.
        extra_patterns: User regular expressions; a line fully matching one is removed
            by the ``user_pattern`` rule.
        recurring_min_docs: In a batch, a line that occurs in at least this many
            documents is boilerplate (CCNet-style). 0 disables the check.
        recurring_min_fraction: ... and in at least this fraction of the batch.
    """

    disabled_rules: frozenset[str] = frozenset()
    extra_phrases: tuple[str, ...] = ()
    extra_patterns: tuple[str, ...] = ()
    recurring_min_docs: int = 5
    recurring_min_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.recurring_min_docs < 0:
            raise ConfigError("recurring_min_docs must be >= 0")
        if not 0.0 <= self.recurring_min_fraction <= 1.0:
            raise ConfigError("recurring_min_fraction must be in [0.0, 1.0]")


# ---------------------------------------------------------------------------
# HTML extraction (owned by the extract stage: src/dedupe/extract.py)
# ---------------------------------------------------------------------------
FAVOR_CHOICES = ("balanced", "recall", "precision")


@dataclass(frozen=True)
class ExtractConfig:
    """Settings of the HTML article extractor (trafilatura). The defaults were chosen on the
    dev set (docs/clean.md, "HTML pages").

    Attributes:
        include_comments: Keep the reader comments trafilatura finds.
        include_tables: Keep text inside ``<table>`` (many older sites lay out articles in tables).
        favor: trafilatura's trade-off: ``balanced``, ``recall`` or ``precision``.
        headline: Put the page's headline (trafilatura's title) on the first line.
        min_words: A page whose extracted text has fewer words (or no sentence) holds no article.
    """

    include_comments: bool = False
    include_tables: bool = True
    favor: str = "balanced"
    headline: bool = True
    min_words: int = 10

    def __post_init__(self) -> None:
        if self.favor not in FAVOR_CHOICES:
            raise ConfigError(f"favor must be one of {', '.join(FAVOR_CHOICES)}, got {self.favor!r}")
        if self.min_words < 0:
            raise ConfigError("min_words must be >= 0")


# ---------------------------------------------------------------------------
# Scanning (owned by the similarity stages)
# ---------------------------------------------------------------------------
KEEP_POLICIES = ("longest", "first", "shortest")
SHINGLE_KINDS = ("word", "char")


@dataclass(frozen=True)
class ShingleSpec:
    """What a shingle is: ``word:5`` (5 consecutive words) or ``char:5`` (5 characters)."""

    kind: str = "word"
    size: int = 5

    def __post_init__(self) -> None:
        if self.kind not in SHINGLE_KINDS:
            raise ConfigError(f"shingle kind must be one of {', '.join(SHINGLE_KINDS)}, got {self.kind!r}")
        if not 1 <= self.size <= 32:
            raise ConfigError(f"shingle size must be in [1, 32], got {self.size}")

    @classmethod
    def parse(cls, text: str) -> ShingleSpec:
        """Parse ``KIND:SIZE`` (``word:5``, ``char:7``).

        Raises:
            ConfigError: text is not of that form.
        """
        kind, sep, size = text.partition(":")
        if not sep or not size.strip().isdigit():
            raise ConfigError(f"shingle must look like word:5 or char:5, got {text!r}")
        return cls(kind.strip().lower(), int(size))

    def __str__(self) -> str:
        return f"{self.kind}:{self.size}"


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be in [0.0, 1.0], got {value}")


@dataclass(frozen=True)
class ScanConfig:
    """Settings of ``dedupe scan``; docs/matching.md explains each threshold.

    Attributes:
        threshold: ``near`` when the Jaccard similarity of the shingle sets is at least this.
        containment: ``near`` also when this share of the shorter text's shingles is in the
            longer one (a reprint cut from the bottom) ...
        min_containment_shingles: ... provided the shorter text has at least this many shingles.
        sentence_ratio: Two sentences are the same sentence (with typos or small edits) when their
            rapidfuzz ratio is at least this (0-1).
        near_coverage: ``near`` also when sentences carrying this share of the shorter text are found,
            in order, in the longer one at ``sentence_ratio`` (noisy or lightly edited copies).
        paraphrase: Look for rewrites at all.
        paraphrase_threshold: ``paraphrase`` when this share of the shorter text's content (IDF-weighted
            content words) is aligned, in order, with reworded sentences of the other ...
        paraphrase_other: ... and at least this share of the longer one's.
        sentence_overlap: Two sentences say the same thing when the IDF-weighted Dice overlap of their
            content words is at least this.
        candidate_threshold: LSH threshold on shingle MinHashes (near-duplicate candidates).
        content_candidate_threshold: LSH threshold on content-word MinHashes (rewrite, cut and
            noisy-copy candidates); candidates are also required to reach it in exact Jaccard.
        rare_word_max_share: The content index holds only words found in at most this share of the
            documents ...
        rare_word_min_docs: ... or in at most this many (so small corpora keep every word).
        shingle: The shingles of the near-duplicate signature.
        num_perm: MinHash permutations.
        seed: MinHash seed.
        keep: Representative of a cluster: ``longest``, ``first`` or ``shortest``.
        clean: Strip boilerplate before fingerprinting.
    """

    threshold: float = 0.5
    containment: float = 0.8
    min_containment_shingles: int = 40
    sentence_ratio: float = 0.85
    near_coverage: float = 0.8
    paraphrase: bool = True
    paraphrase_threshold: float = 0.55
    paraphrase_other: float = 0.3
    sentence_overlap: float = 0.3
    candidate_threshold: float = 0.3
    content_candidate_threshold: float = 0.15
    rare_word_max_share: float = 0.005
    rare_word_min_docs: int = 50
    shingle: ShingleSpec = field(default_factory=ShingleSpec)
    num_perm: int = 128
    seed: int = 1
    keep: str = "longest"
    clean: bool = True

    def __post_init__(self) -> None:
        for name in ("threshold", "containment", "sentence_ratio", "near_coverage", "paraphrase_threshold",
                     "paraphrase_other", "sentence_overlap", "candidate_threshold",
                     "content_candidate_threshold"):  # fmt: skip
            _check_unit(name, getattr(self, name))
        if self.candidate_threshold > self.threshold:
            raise ConfigError("candidate_threshold must not exceed threshold")
        if not 16 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be in [16, 1024], got {self.num_perm}")
        if self.seed < 0:
            raise ConfigError("seed must be >= 0")
        if self.min_containment_shingles < 1:
            raise ConfigError("min_containment_shingles must be >= 1")
        if self.keep not in KEEP_POLICIES:
            raise ConfigError(f"keep must be one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
