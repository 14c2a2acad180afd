"""What is particular to nbody: the reference by hand, tolerances that catch plausible mistakes,
block sizes shrunk so that the blocked array code and the CUDA grid end on a partial block, and
the C flags. Every realisation is checked against the reference in both dtypes at the awkward
sizes of ``kernel.check_sizes`` (one body, two, three, a prime) by tests/test_contract.py.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

import helpers
from haiend import kernels
from haiend.kernels.nbody import c_impl, cupy_impl, default_n, numpy_impl

KERNELS = ("nbody.float64", "nbody.float32")


def _kernel(name):
    return kernels.get(name)


def _require(variant):
    availability = variant.available()
    if not availability:
        pytest.skip(availability.reason)


@pytest.mark.parametrize("name", KERNELS)
def test_registry_names_and_cost_model(name):
    kernel = _kernel(name)
    assert kernels.get("nbody").name == "nbody.float64"
    assert [k.name for k in kernels.group("nbody")] == list(KERNELS)
    itemsize = np.dtype(name.split(".")[1]).itemsize
    assert kernel.flops((100,)) == 20 * 100 * 100
    assert kernel.bytes_moved((100,)) == 7 * itemsize * 100
    assert kernel.baseline == "c"
    assert set(kernel.variants) == {"numpy", "numba", "numba_strict", "numba_parallel", "c", "cupy", "cuda", "mpi"}


@pytest.mark.parametrize("name", KERNELS)
def test_inputs_are_deterministic_and_in_the_kernels_dtype(name):
    kernel = _kernel(name)
    positions, masses, eps = kernel.make_inputs((5,), seed=3)
    again = kernel.make_inputs((5,), seed=3)
    assert positions.shape == (5, 3) and masses.shape == (5,) and eps > 0
    assert positions.dtype == masses.dtype == np.dtype(name.split(".")[1])
    np.testing.assert_array_equal(positions, again[0])
    assert not np.array_equal(positions, kernel.make_inputs((5,), seed=4)[0])


def test_reference_for_two_bodies_by_hand():
    positions = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    masses = np.array([3.0, 5.0])
    eps = 0.5
    expected = np.zeros((2, 3))
    pull = 1.0 / (4.0 + 0.25) ** 1.5  # |r|^2 = 4
    expected[0, 0] = 5.0 * 2.0 * pull
    expected[1, 0] = -3.0 * 2.0 * pull
    result = kernels.get("nbody").reference(positions, masses, eps)
    np.testing.assert_allclose(result, expected, rtol=1e-15)


@pytest.mark.parametrize("name", KERNELS)
def test_tolerance_catches_plausible_mistakes(name):
    kernel = _kernel(name)
    positions, masses, eps = kernel.make_inputs((97,))
    expected = kernel.reference(positions, masses, eps)
    last_left_out = kernel.reference(positions[:-1], masses[:-1], eps)
    without_last = np.vstack([last_left_out, expected[-1:]]).astype(positions.dtype)
    twice_the_softening = kernel.reference(positions, masses, 2 * eps).astype(positions.dtype)
    assert not kernel.check(without_last, expected).passed
    assert not kernel.check(twice_the_softening, expected).passed


def test_default_size_follows_the_l2_cache():
    assert default_n({"caches": {"L2": 2 * 2**20}}) == 4096
    assert default_n({"caches": {"L2": 128 * 2**10}}) == 2048
    assert default_n({"caches": {"L2": 16 * 2**10}}) == 1024
    assert default_n({}) == 4096


@pytest.mark.parametrize("module", [numpy_impl, cupy_impl], ids=["numpy", "cupy-on-numpy"])
@pytest.mark.parametrize("name", KERNELS)
def test_blocked_array_code_with_partial_last_block(name, module, monkeypatch):
    # 97 bodies in blocks of 10 (numpy) or 3 (cupy) rows: the last block is a partial one.
    monkeypatch.setattr(module, "BLOCK_ELEMENTS", 97 * 10 if module is numpy_impl else 3 * 97 * 3)
    kernel = _kernel(name)
    inputs = kernel.make_inputs((97,))
    out = kernel.allocate_output(*inputs)
    result = module.accelerations(*inputs, out)
    assert result is out and out.dtype == inputs[0].dtype
    check = kernel.check(out, kernel.reference(*inputs))
    assert check.passed, check


def test_c_variant_flags_and_other_flags(monkeypatch):
    monkeypatch.delenv("HAIEND_CFLAGS", raising=False)
    assert c_impl.variant_flags() == ("-O3", "-march=native", "-ffast-math", "-fopenmp")
    assert kernels.get("nbody").variants["c"].details["flags"] == "-O3 -march=native -ffast-math -fopenmp"
    monkeypatch.setenv("HAIEND_CFLAGS", "-O2 -fopenmp")
    assert c_impl.variant_flags() == ("-O2", "-fopenmp")


def test_c_library_with_other_flags_is_still_correct():
    kernel = _kernel("nbody.float64")
    _require(kernel.variants["c"])
    built = c_impl.library(("-O0", "-fopenmp"))
    assert "-O0" in built.command_line and "-lm" in built.command
    positions, masses, eps = kernel.make_inputs((97,))
    out = kernel.allocate_output(positions, masses, eps)
    x, y, z = numpy_impl.columns(positions)
    built.library.nbody_float64(x, y, z, masses, eps, out, 97, 1)
    assert kernel.check(out, kernel.reference(positions, masses, eps)).passed


_SIMULATED = textwrap.dedent(
    """
    import json
    from haiend import kernels
    from haiend.kernels.nbody import cuda_impl
    cuda_impl.THREADS_PER_BLOCK = 32  # 97 bodies: four blocks, the last one mostly idle
    report = []
    for name in ("nbody.float64", "nbody.float32"):
        kernel = kernels.get(name)
        variant = kernel.variants["cuda"]
        if not variant.available():
            report.append({"skip": variant.available().reason})
            continue
        for n in (1, 2, 64, 97):
            inputs = kernel.make_inputs((n,), seed=n)
            result = variant(*inputs)
            check = kernel.check(result, kernel.reference(*inputs))
            report.append({"name": name, "n": n, "dtype": str(result.dtype), "passed": check.passed})
    print(json.dumps(report))
    """
)


def test_cuda_variant_under_the_simulator():
    report = json.loads(helpers.under_cuda_simulator(_SIMULATED))
    skipped = [r["skip"] for r in report if "skip" in r]
    if skipped:
        pytest.skip(skipped[0])
    assert len(report) == 8
    for row in report:
        assert row["passed"], row
        assert row["dtype"] == row["name"].split(".")[1], row


