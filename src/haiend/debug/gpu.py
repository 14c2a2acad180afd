"""NVIDIA's compute-sanitizer, found where it is installed, and run on a CUDA program with a time limit.

compute-sanitizer is dynamic binary instrumentation for GPU code: it patches the kernels' machine
code (SASS) as they are loaded, through the CUDA driver's instrumentation API (the
``sanitizer-api`` library), so no rebuild is needed. Its tools: ``memcheck`` checks every global,
shared and local memory access against the allocations (out of bounds, misaligned, freed) and
reports CUDA API errors and leaks; ``racecheck`` tracks shared-memory accesses between
``__syncthreads`` barriers and reports hazards (write after read ...) between threads of a block;
``initcheck`` reports reads of global memory never written since it was allocated; ``synccheck``
reports barriers used where not every thread of the block (or warp, for ``__syncwarp``) reaches
them. It ships with the CUDA toolkit and in the pip wheel ``nvidia-cuda-sanitizer-api-cu12``
(under ``site-packages/nvidia/``), and needs a GPU and its driver to run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from haiend.debug import bounded
from haiend.requirements import CUPY_GPU, Requirement

TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")


def compute_sanitizer() -> Path | None:
    """The compute-sanitizer program: on the PATH, under $CUDA_HOME, or inside NVIDIA's pip wheel."""
    found = shutil.which("compute-sanitizer")
    if found:
        return Path(found)
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home and (Path(home) / "compute-sanitizer" / "compute-sanitizer").is_file():
            return Path(home) / "compute-sanitizer" / "compute-sanitizer"
    spec = importlib.util.find_spec("nvidia")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for candidate in sorted(Path(folder).glob("cuda_sanitizer_api/**/compute-sanitizer")):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def _probe() -> str | None:
    if compute_sanitizer() is None:
        return (
            "compute-sanitizer is not installed here: it comes with the CUDA toolkit, or "
            "pip install nvidia-cuda-sanitizer-api-cu12 on a machine with an NVIDIA GPU."
        )
    return CUPY_GPU.missing()


COMPUTE_SANITIZER = Requirement("compute-sanitizer and a GPU", _probe)


def check(argv: Sequence[str], tool: str = "memcheck", timeout_s: float = 300) -> bounded.Finished:
    """Run ``argv`` under ``compute-sanitizer --tool TOOL`` (call only when COMPUTE_SANITIZER is met)."""
    if tool not in TOOLS:
        raise ValueError(f"unknown compute-sanitizer tool {tool!r}: choose one of {', '.join(TOOLS)}")
    program = compute_sanitizer()
    if program is None:
        raise FileNotFoundError(COMPUTE_SANITIZER.missing())
    return bounded.run([str(program), "--tool", tool, "--error-exitcode", "99", *argv], timeout_s)
