"""Build of the optional compiled kernels (everything else is in pyproject.toml).

``dedupe._kernels`` speeds up shingling and MinHash several times; when it cannot be built (no C
compiler), the install still succeeds and dedupe uses its NumPy code, with the same results.
"""

import os

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dedupe._kernels",
            sources=["src/dedupe/_kernels.c"],
            extra_compile_args=["-O3"],
            libraries=["m"] if os.name == "posix" else [],  # log1p
            optional=True,
        )
    ]
)
