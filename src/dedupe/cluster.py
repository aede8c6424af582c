"""Clustering verified pairs (union-find) and choosing each cluster's representative."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def group_pairs(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components with at least two members, each sorted, in order of their smallest index."""
    uf = UnionFind(n)
    for a, b in pairs:
        uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        root = uf.find(i)
        if uf.size[root] > 1:
            groups.setdefault(root, []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def choose_representative(
    members: Sequence[int], keep: str, lengths: Sequence[int], ids: Sequence[str]
) -> tuple[int, str]:
    """Pick the document to keep and say why.

    ``longest`` keeps the most complete version (ties: smallest id), ``shortest`` the tersest,
    ``first`` the one read first. Returns ``(index, reason)``.
    """
    if keep == "first":
        best = min(members)
        return best, "first in input order"
    if keep == "shortest":
        best = min(members, key=lambda i: (lengths[i], ids[i]))
        return best, f"shortest ({lengths[best]} characters after cleaning)"
    best = min(members, key=lambda i: (-lengths[i], ids[i]))
    return best, f"longest ({lengths[best]} characters after cleaning)"
