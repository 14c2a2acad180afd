"""Numba's CUDA simulator catches the seeded out-of-bounds read with the thread's index, and steps under pdb."""

from __future__ import annotations

import os
import sys

import pytest

from haiend.debug import bounded

pytest.importorskip("numba.cuda", reason="Numba's CUDA support is missing: pip install numba-cuda")
SIMULATOR = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONBREAKPOINT": ""}
PROGRAM = [sys.executable, "-m", "haiend.debug.cudasim_kernels"]


def test_the_simulator_names_the_thread_that_reads_out_of_bounds() -> None:
    done = bounded.run([*PROGRAM, "oob"], 60, env=SIMULATOR)
    assert done.returncode != 0
    assert "IndexError: tid=[3, 0, 0] ctaid=[1, 0, 0]: index 8 is out of bounds" in done.stderr, done.stderr


def test_the_fixed_kernel_runs_clean_in_the_simulator() -> None:
    done = bounded.run([*PROGRAM, "fixed"], 60, env=SIMULATOR)
    assert done.returncode == 0 and "out=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]" in done.stdout, done.output


def test_pdb_stops_in_one_simulated_thread_and_reads_its_locals() -> None:
    commands = "p (i, cuda.threadIdx.x, cuda.blockIdx.x)\nn\np float(out[i])\nc\n"
    done = bounded.run([*PROGRAM, "step", "5"], 60, env=SIMULATOR, stdin=commands)
    assert done.returncode == 0 and not done.timed_out, done.output
    assert "(Pdb) (5, 1, 1)" in done.stdout and "(Pdb) 6.0" in done.stdout, done.stdout


def test_a_missing_compute_sanitizer_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from haiend.debug import gpu

    monkeypatch.setattr(gpu, "compute_sanitizer", lambda: None)
    reason = gpu._probe()
    assert reason.startswith("compute-sanitizer is not installed here") and "nvidia-cuda-sanitizer-api-cu12" in reason
    assert reason.endswith(".") and "\n" not in reason


def test_memcheck_reports_the_seeded_read_on_a_gpu() -> None:
    from haiend.debug import gpu

    reason = gpu.COMPUTE_SANITIZER.missing()
    if reason is not None:
        pytest.skip(reason)
    done = gpu.check([*PROGRAM, "oob"], tool="memcheck", timeout_s=300)
    assert "Invalid __global__ read of size 8" in done.output, done.output[-3000:]
