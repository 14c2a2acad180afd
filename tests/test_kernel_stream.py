"""STREAM: every realisation of every operation against the reference, at awkward sizes too."""

import json
import textwrap

import numpy as np
import pytest

import helpers
from haiend import kernels
from haiend.errors import HaiendError
from haiend.kernels import Check, stream
from haiend.kernels.stream import cupy_impl

OPERATIONS = ("copy", "scale", "add", "triad")
KERNELS = {name: getattr(stream, name) for name in OPERATIONS}
VARIANTS = ("numpy", "numba", "numba_parallel", "c", "cupy", "cuda", "mpi")
SIZES = (1, 2, 1009, stream.QUICK_N)


def test_every_variant_is_tested():
    for kernel in KERNELS.values():
        assert tuple(kernel.variants) == VARIANTS, "a new variant needs its tests here"


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_variant_matches_the_reference(operation, variant_name, n):
    kernel = KERNELS[operation]
    variant = kernel.variants[variant_name]
    availability = variant.available()
    if not availability:
        pytest.skip(availability.reason)
    inputs = kernel.make_inputs((n,))
    expected = kernel.reference(*inputs)
    result = variant(*inputs)
    assert isinstance(result, np.ndarray) and result.shape == (n,) and result.dtype == np.float64
    check = kernel.check(result, expected)
    assert check.passed, f"{kernel.name}/{variant_name} at n={n}: {check}"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_prepared_call_writes_into_the_same_output(operation):
    kernel = KERNELS[operation]
    inputs = kernel.make_inputs((1009,))
    prepared = kernel.variants["numpy"].prepare(inputs)
    assert not np.any(prepared.result())  # allocated and zeroed (pages touched) before timing
    prepared.call()
    np.testing.assert_array_equal(prepared.result(), kernel.reference(*inputs))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_cupy_impl_runs_on_numpy_arrays(operation):
    kernel = KERNELS[operation]
    inputs = kernel.make_inputs((1009,))
    out = np.zeros(1009)
    returned = getattr(cupy_impl, operation)(*inputs, out)
    assert returned is out
    assert kernel.check(out, kernel.reference(*inputs)).passed


CUDASIM_SCRIPT = textwrap.dedent(
    """
    import json
    from haiend.kernels import stream
    results = []
    for operation in ("copy", "scale", "add", "triad"):
        kernel = getattr(stream, operation)
        variant = kernel.variants["cuda"]
        available = variant.available()
        for n in (1, 2, 257, 1009):
            inputs = kernel.make_inputs((n,))
            check = kernel.check(variant(*inputs), kernel.reference(*inputs))
            results.append([kernel.name, n, bool(available), check.passed, check.error])
    print(json.dumps(results))
    """
)


def test_cuda_variant_under_the_simulator():
    results = json.loads(helpers.under_cuda_simulator(CUDASIM_SCRIPT))
    assert len(results) == 4 * 4
    failed = [r for r in results if not (r[2] and r[3])]
    assert failed == [], f"(kernel, n, available, passed, error): {failed}"


def _mpi_bench(ranks, *extra):
    outcomes, progress = helpers.mpi_bench("stream", ranks, "--quick", *extra)
    assert [o["kernel"] for o in outcomes] == [f"stream.{op}" for op in OPERATIONS]
    assert [o["status"] for o in outcomes] == ["measured"] * 4, [o["reason"] for o in outcomes]
    for outcome in outcomes:
        assert outcome["record"]["ranks"] == ranks
        assert outcome["record"]["threads"] == 1  # each rank runs the serial loop on its block
        assert outcome["record"]["error"] <= outcome["record"]["tolerance"]
    assert progress.count("[stream.triad 1/1] mpi") == 1  # progress from rank 0 alone
    return outcomes


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_variant_under_mpiexec(ranks):
    outcomes = _mpi_bench(ranks)
    assert all(o["size"] == [stream.QUICK_N] for o in outcomes)


@pytest.mark.mpi
def test_mpi_variant_with_an_uneven_split():
    outcomes = _mpi_bench(3, "--size", "1009")  # 1009 = 337 + 336 + 336
    assert all(o["size"] == [1009] for o in outcomes)


def test_registry_names():
    assert kernels.get("stream") is stream.triad
    assert kernels.get("stream.copy") is stream.copy
    assert [k.name for k in kernels.group("stream")] == [f"stream.{op}" for op in OPERATIONS]
    assert [k.name for k in kernels.group("stream.add")] == ["stream.add"]
    assert {"stream", "stream.copy", "stream.scale", "stream.add", "stream.triad"} <= set(kernels.names())
    with pytest.raises(HaiendError, match="unknown kernel 'streem'"):
        kernels.get("streem")


@pytest.mark.parametrize(
    "text, size", [("1000", (1000,)), ("1e6", (1000000,)), (" 7 ", (7,)), (1009, (1009,))]
)
def test_parse_size(text, size):
    assert stream.triad.parse_size(text) == size


@pytest.mark.parametrize(
    "text, message",
    [
        ("abc", "not understood"),
        ("", "not understood"),
        ("0", "must be positive"),
        ("-5", "must be positive"),
        ("10x10", "of the form n"),
    ],
)
def test_parse_size_errors(text, message):
    with pytest.raises(HaiendError, match=message):
        stream.triad.parse_size(text)


@pytest.mark.parametrize(
    "operation, bytes_per_element, flops_per_element",
    [("copy", 16, 0), ("scale", 16, 1), ("add", 24, 1), ("triad", 24, 2)],
)
def test_cost_model(operation, bytes_per_element, flops_per_element):
    kernel = KERNELS[operation]
    assert kernel.bytes_moved((1000,)) == 1000 * bytes_per_element
    assert kernel.flops((1000,)) == 1000 * flops_per_element


def test_inputs_are_deterministic_per_seed():
    b1, c1, s1 = stream.triad.make_inputs((100,), seed=1)
    b2, c2, s2 = stream.triad.make_inputs((100,), seed=1)
    b3, _, _ = stream.triad.make_inputs((100,), seed=2)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(c1, c2)
    assert s1 == s2 == stream.SCALAR
    assert not np.array_equal(b1, b3)
    assert len(stream.copy.make_inputs((3,))) == 1 and len(stream.add.make_inputs((3,))) == 2


def test_default_size_follows_the_cache_and_free_memory():
    def default_n(llc, free):
        return stream.default_n({"last_level_cache_bytes": llc, "memory_available_bytes": free})

    assert default_n(32 * 2**20, 64 * 2**30) == 16 * 2**20  # 4 x the last-level cache
    assert default_n(2**20, 64 * 2**30) == stream.QUICK_N  # never below the quick size
    small_memory = default_n(2**30, 2**30)  # at most a quarter of free memory
    assert small_memory * 8 * 3 <= 2**30 // 4


def test_check_accepts_the_exact_result():
    inputs = stream.triad.make_inputs((1009,))
    expected = stream.triad.reference(*inputs)
    check = stream.triad.check(expected.copy(), expected)
    assert check.passed and check.error == 0.0 and check.tolerance == 1e-14
    assert str(check).startswith("correct")


def test_check_detects_a_wrong_result():
    inputs = stream.triad.make_inputs((1009,))
    expected = stream.triad.reference(*inputs)
    wrong = expected.copy()
    wrong[500] *= 1 + 1e-9
    check = stream.triad.check(wrong, expected)
    assert not check.passed and check.error > check.tolerance
    assert str(check).startswith("WRONG")


def test_check_detects_a_wrong_shape():
    expected = stream.triad.reference(*stream.triad.make_inputs((1009,)))
    check = stream.triad.check(expected[:-1], expected)
    assert not check.passed and check.error == float("inf")


def test_check_detects_nan():
    expected = stream.triad.reference(*stream.triad.make_inputs((1009,)))
    with_nan = expected.copy()
    with_nan[0] = np.nan
    assert not stream.triad.check(with_nan, expected).passed
    assert not Check(float("nan"), 1e-14).passed
