"""What a kernel variant needs in order to run here, and one sentence on how to get it.

Each requirement is probed once per process (like threadpoolctl's optional dependencies) and
answers ``None`` when it is met, or the sentence a learner reads when it is not.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """A named precondition: ``missing()`` is None when met, else why not and how to fix it."""

    name: str
    probe: Callable[[], str | None]

    def missing(self) -> str | None:
        return _cached_probe(self.probe)


@functools.cache
def _cached_probe(probe: Callable[[], str | None]) -> str | None:
    return probe()


def _module(name: str, install: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed: {install}."
        return None

    probe.__name__ = f"has_{name}"
    return probe


def c_compiler() -> str | None:
    """The C compiler haiend uses: $CC if set (None if it cannot be found), else cc or gcc."""
    if os.environ.get("CC"):
        return shutil.which(os.environ["CC"])
    return shutil.which("cc") or shutil.which("gcc")


def _probe_compiler() -> str | None:
    if c_compiler() is None:
        if os.environ.get("CC"):
            return f"the C compiler CC={os.environ['CC']} was not found: install it or unset CC."
        return "no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC."
    return None


def _probe_cupy_gpu() -> str | None:
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed: pip install cupy-cuda12x on a machine with an NVIDIA GPU."
    try:
        import cupy

        if cupy.cuda.is_available():
            return None
    except Exception:  # any CUDA runtime or driver error means no usable GPU
        pass
    return "no CUDA GPU is visible here: run this variant on a machine with an NVIDIA GPU and its driver."


def _probe_numba_cuda() -> str | None:
    if importlib.util.find_spec("numba") is None:
        return "numba is not installed: pip install numba numba-cuda."
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return None
    return _probe_cupy_gpu()


NUMBA = Requirement("numba", _module("numba", "pip install numba"))
C_COMPILER = Requirement("C compiler", _probe_compiler)
CUPY_GPU = Requirement("GPU (CuPy)", _probe_cupy_gpu)
NUMBA_CUDA = Requirement("GPU (numba-cuda, or its simulator)", _probe_numba_cuda)
MPI = Requirement("mpi4py", _module("mpi4py", "pip install mpi4py mpich"))
