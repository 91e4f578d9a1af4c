"""Build the Cython kernels in ``kernels/``; all other metadata lives in pyproject.toml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _openmp_flags() -> tuple[list[str], list[str]]:
    """Compiler and linker flags for OpenMP; empty where the platform has none."""
    if os.environ.get("TWIN_NO_OPENMP") or sys.platform == "darwin":
        return [], []
    return ["-fopenmp"], ["-fopenmp"]


def _extensions() -> list[Extension]:
    compile_args, link_args = _openmp_flags()
    extensions = []
    for pyx in sorted(Path("kernels").glob("_*_cy.pyx")):
        name = f"kernels.{pyx.stem}"
        extensions.append(
            Extension(
                name,
                [str(pyx)],
                include_dirs=[np.get_include()],
                extra_compile_args=["-O3", *compile_args],
                extra_link_args=link_args,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return extensions


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
)
