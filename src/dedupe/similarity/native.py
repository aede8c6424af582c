"""Access to the optional compiled kernels (``dedupe._kernels``, built from ``src/dedupe/_kernels.c``
at install when a C compiler is present).

Every caller has NumPy/Python code giving the same results, used when the module was not built or
when ``DEDUPE_NO_KERNELS`` is set (to compare the two, or to rule the kernels out).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

_kernels: ModuleType | None
try:
    from dedupe import _kernels
except ImportError:  # built without a C compiler
    _kernels = None


_SWITCH = "DEDUPE_NO_KERNELS"
# ``os.environ.get`` of an unset variable costs half a microsecond (it raises and catches a
# KeyError), and the cleaner asks for every line: the mapping behind ``os.environ``, which its
# updates (and so pytest's monkeypatch.setenv) keep current, is read directly where CPython has it.
_environ: dict[Any, Any] | None = getattr(os.environ, "_data", None)
_switch_key: Any = os.environ.encodekey(_SWITCH) if _environ is not None and hasattr(os.environ, "encodekey") else None


def kernels() -> ModuleType | None:
    """The compiled kernels, or None when they are not built or ``DEDUPE_NO_KERNELS`` is set."""
    if _kernels is None:
        return None
    if _environ is not None and _switch_key is not None:
        if _environ.get(_switch_key):
            return None
    elif os.environ.get(_SWITCH):
        return None
    return _kernels


def built() -> bool:
    """Whether the compiled kernels were built (whatever ``DEDUPE_NO_KERNELS`` says)."""
    return _kernels is not None


_word_tables: dict[int, tuple[frozenset[str], Any]] = {}


def word_table(native: ModuleType, words: frozenset[str]) -> Any:
    """``words`` (ASCII, no spaces) as a vocabulary of the compiled kernels, for their membership tests
    (made on first use, one per set)."""
    held = _word_tables.get(id(words))
    if held is None or held[0] is not words:
        import numpy as np

        table = native.vocab_new()
        native.vocab_lookup(table, " ".join(sorted(words)).encode("ascii"), np.empty(len(words), dtype=np.int64), False)
        held = _word_tables[id(words)] = (words, table)
    return held[1]


_screens: dict[int, tuple[tuple[Any, ...], Any]] = {}


def screen_tables(native: ModuleType, screens: tuple[tuple[Any, ...], ...]) -> Any:
    """Line screens (``rules.Screen.as_tuple()`` each) as the compiled kernels take them: a tuple of
    capsules (made on first use, one per tuple of screens)."""
    held = _screens.get(id(screens))
    if held is None or held[0] is not screens:
        held = _screens[id(screens)] = (screens, tuple(native.screen_new(screen) for screen in screens))
    return held[1]
