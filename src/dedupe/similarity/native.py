"""Access to the optional compiled kernels (``dedupe._kernels``, built from ``src/dedupe/_kernels.c``
at install when a C compiler is present).

Every caller has NumPy/Python code giving the same results, used when the module was not built or
when ``DEDUPE_NO_KERNELS`` is set (to compare the two, or to rule the kernels out).
"""

from __future__ import annotations

import os
from types import ModuleType

_kernels: ModuleType | None
try:
    from dedupe import _kernels
except ImportError:  # built without a C compiler
    _kernels = None


def kernels() -> ModuleType | None:
    """The compiled kernels, or None when they are not built or ``DEDUPE_NO_KERNELS`` is set."""
    if _kernels is None or os.environ.get("DEDUPE_NO_KERNELS"):
        return None
    return _kernels


def built() -> bool:
    """Whether the compiled kernels were built (whatever ``DEDUPE_NO_KERNELS`` says)."""
    return _kernels is not None
