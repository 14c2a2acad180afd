"""Precision as a dimension of matmul: float16 and bfloat16, stored in 16 bits and summed in float32.

Every realisation's error must stay within the textbook bound of its formats at the check sizes
(``rounding.bound``: u_store + (1 + u_store) gamma_k(u32)), and the check must be able to fail: a
realisation that sums in 16 bits exceeds that bound at a long k. What NumPy and ml_dtypes do with
16-bit inputs on the pinned versions is pinned here too, since labs/precision.ipynb says it.
"""

import math

import ml_dtypes
import numpy as np
import pytest

from haiend import kernels
from haiend.kernels.matmul import DEFAULT_N, rounding

LOW = ["matmul.float16", "matmul.bfloat16"]
WIDE = ["matmul.float64", "matmul.float32"]  # summed in their own format


def sum_in_storage_format(A, B, out):
    """Deliberately wrong: recursive summation in the 16-bit format itself, one rank-1 update per p."""
    acc = np.zeros(out.shape, A.dtype)
    for p in range(A.shape[1]):
        acc += np.multiply.outer(A[:, p], B[p, :])  # each partial sum rounded to 16 bits
    out[...] = acc
    return out


def test_unit_roundoffs_are_half_of_machine_epsilon():
    for name, dtype in [("float64", np.float64), ("float32", np.float32), ("float16", np.float16)]:
        assert rounding.unit_roundoff(name) == np.finfo(dtype).eps / 2
    assert rounding.unit_roundoff("bfloat16") == float(ml_dtypes.finfo(ml_dtypes.bfloat16).eps) / 2


def test_gamma_and_the_mixed_bound():
    u = rounding.unit_roundoff("float32")
    assert rounding.gamma(1000, u) == pytest.approx(1000 * u / (1 - 1000 * u), rel=1e-15)
    assert rounding.gamma(2**11, rounding.unit_roundoff("float16")) == math.inf  # k u = 1: no bound
    u16 = rounding.unit_roundoff("float16")
    assert rounding.bound(100, "float16", "float32") == pytest.approx(
        u16 + (1 + u16) * rounding.gamma(100, u)
    )
    assert rounding.bound(100, "float32") == rounding.gamma(100, u)


def _sums_in(dtype: str) -> str:
    return "float32" if f"matmul.{dtype}" in LOW else dtype


@pytest.mark.parametrize("name", [*WIDE, *LOW])
def test_tolerance_is_the_bound_at_the_largest_default_k(name):
    kernel = kernels.get(name)
    dtype = name.split(".")[1]
    assert kernel.tolerance(kernel.allocate_output(*kernel.make_inputs((2, 3, 4)))[0].dtype) == (
        rounding.tolerance(DEFAULT_N, dtype, _sums_in(dtype))
    )
    assert kernel.default_size({"memory_available_bytes": 64 * 2**30})[1] <= DEFAULT_N
    assert "gamma_k" in kernel.spec.tolerances[dtype].rationale


@pytest.mark.parametrize("name", LOW)
def test_every_realisation_is_within_its_bound_at_every_check_size(name):
    kernel = kernels.get(name)
    dtype = name.split(".")[1]
    for size in kernel.check_sizes:
        inputs = kernel.make_inputs(size)
        expected = kernel.reference(*inputs)
        limit = rounding.bound(size[1], dtype, "float32")  # the bound at this k, tighter than the tolerance
        for variant in kernel.variants.values():
            result = variant(*inputs)
            assert result.dtype == inputs[0].dtype
            error = kernel.check(result, expected).error
            assert error <= limit, f"{name}/{variant.name} at {size}: {error:.3g} > bound {limit:.3g}"


@pytest.mark.parametrize("name", WIDE)
def test_host_realisations_are_within_the_bound_of_their_format(name):
    """float64 and float32: the bound of the format plus the reference's own, at each check size's k."""
    kernel = kernels.get(name)
    dtype = name.split(".")[1]
    host = [v for v in kernel.variants.values() if v.kind.device == "cpu" and v.kind.spreads != "ranks"]
    assert {"numpy", "numba_blocked", "c"} <= {v.name for v in host}
    for size in kernel.check_sizes:
        inputs = kernel.make_inputs(size)
        expected = kernel.reference(*inputs)
        limit = rounding.tolerance(size[1], dtype)
        for variant in host:
            if not variant.available():
                continue  # a missing compiler is reported by tests/test_contract.py
            error = kernel.check(variant(*inputs), expected).error
            assert error <= limit, f"{name}/{variant.name} at {size}: {error:.3g} > bound {limit:.3g}"


@pytest.mark.parametrize("name", LOW)
def test_summing_in_16_bits_exceeds_the_float32_accumulation_bound(name):
    kernel = kernels.get(name)
    inputs = kernel.make_inputs((8, DEFAULT_N, 8))
    check = kernel.check(
        sum_in_storage_format(*inputs, kernel.allocate_output(*inputs)), kernel.reference(*inputs)
    )
    assert not check.passed, f"a 16-bit sum over k = {DEFAULT_N} passed: {check}"
    assert check.error > 10 * kernel.tolerance(inputs[0].dtype), check


def test_what_numpy_and_ml_dtypes_return_for_16_bit_inputs():
    bf16 = np.dtype(ml_dtypes.bfloat16)
    A, B = np.ones((3, 4), bf16), np.ones((4, 5), bf16)
    assert (A @ B).dtype == np.float32 and np.matmul(A, B).dtype == np.float32
    assert np.dot(A, B).dtype == bf16
    assert [t for t in np.matmul.types if "e" in t] == ["ee->e"]  # float16: NumPy's own loop only


def test_numpy_sums_16_bit_products_in_float32():
    """At k = 4096 a float16 sum stagnates far from the truth; NumPy's result is the truth rounded once."""
    rng = np.random.default_rng(0)
    for dtype in (np.float16, ml_dtypes.bfloat16):
        a, b = rng.random((1, 4096)).astype(dtype), rng.random((4096, 1)).astype(dtype)
        exact = a.astype(np.float64) @ b.astype(np.float64)
        for result in (np.matmul(a, b, out=np.empty((1, 1), dtype)), np.dot(a, b)):
            assert (
                abs(float(result[0, 0]) - exact[0, 0])
                <= rounding.bound(4096, np.dtype(dtype).name, "float32") * exact[0, 0]
            )
