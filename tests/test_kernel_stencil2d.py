"""stencil2d: every realisation against the reference, at awkward grids and step counts too."""

import json
import textwrap

import numpy as np
import pytest

import helpers
from haiend import kernels
from haiend.kernels import stencil2d as package
from haiend.kernels.stencil2d import buffers, cupy_impl

KERNEL = package.stencil2d
VARIANTS = ("numpy", "numba", "numba_blocked", "numba_parallel", "c", "cupy", "cuda", "mpi")
SIZES = (
    package.QUICK_SIZE,
    (3, 17, 3),  # one interior row
    (1, 5, 2),  # no interior: the result is the input
    (2, 7, 3),
    (6, 1, 2),
    (5, 2, 1),
    (13, 17, 3),  # primes, non-square
    (31, 29, 1),  # a single sweep
    (29, 31, 5),  # odd steps, more than one pass of numba_blocked
    (17, 13, 8),  # even steps, a whole number of passes
    (4, 41, 7),  # more sweeps than rows
)


def test_every_variant_is_tested():
    assert tuple(KERNEL.variants) == VARIANTS, "a new variant needs its tests here"


def test_registry_and_cost_model():
    assert kernels.get("stencil2d") is KERNEL
    assert KERNEL.parse_size("13x17x3") == (13, 17, 3)
    assert KERNEL.bytes_moved((13, 17, 3)) == 16 * 11 * 15 * 3
    assert KERNEL.flops((13, 17, 3)) == 4 * 11 * 15 * 3
    assert KERNEL.bytes_moved((2, 17, 3)) == KERNEL.flops((13, 2, 3)) == 0
    assert KERNEL.baseline == "stream.triad:c"


def test_reference_by_hand():
    u0 = np.array([[1.0, 1, 1, 1], [0.5, 0, 4, 0.5], [0, 0, 0, 0]])
    once = KERNEL.reference(u0, 1)
    np.testing.assert_array_equal(once[1], [0.5, 0.25 * (1 + 0 + 0.5 + 4), 0.25 * (1 + 0 + 0 + 0.5), 0.5])
    np.testing.assert_array_equal(np.delete(once, 1, axis=0), np.delete(u0, 1, axis=0))
    np.testing.assert_array_equal(KERNEL.reference(u0, 2)[1, 1], 0.25 * (1 + 0 + 0.5 + once[1, 2]))


def test_inputs_are_deterministic_and_have_fixed_edges():
    u0, steps = KERNEL.make_inputs((7, 9, 3), seed=1)
    again, _ = KERNEL.make_inputs((7, 9, 3), seed=1)
    other, _ = KERNEL.make_inputs((7, 9, 3), seed=2)
    np.testing.assert_array_equal(u0, again)
    assert not np.array_equal(u0, other) and steps == 3 and u0.dtype == np.float64
    assert np.all(u0[0] == package.HOT) and np.all(u0[-1] == package.COLD)
    assert np.all(u0[1:-1, 0] == package.SIDE) and np.all(u0[1:-1, -1] == package.SIDE)


@pytest.mark.parametrize("size", SIZES, ids=KERNEL.size_label)
@pytest.mark.parametrize("variant_name", [v for v in VARIANTS if v not in ("cupy", "cuda")])
def test_variant_matches_the_reference(variant_name, size):
    variant = KERNEL.variants[variant_name]
    availability = variant.available()
    if not availability:
        pytest.skip(availability.reason)
    u0, steps = KERNEL.make_inputs(size)
    before = u0.copy()
    expected = KERNEL.reference(u0, steps)
    result = variant(u0, steps)
    assert isinstance(result, np.ndarray) and result.shape == size[:2] and result.dtype == np.float64
    check = KERNEL.check(result, expected)
    assert check.passed, f"stencil2d/{variant_name} at {size}: {check}"
    np.testing.assert_array_equal(u0, before)  # the input is only read


@pytest.mark.parametrize("variant_name", ["numpy", "numba", "numba_blocked", "c", "mpi"])
def test_repeated_calls_start_again_from_the_input(variant_name):
    """Timing calls a prepared variant many times: each call must redo the same work."""
    variant = KERNEL.variants[variant_name]
    if not variant.available():
        pytest.skip(variant.available().reason)
    inputs = KERNEL.make_inputs((11, 23, 5))
    prepared = variant.prepare(inputs)
    prepared.call()
    prepared.call()
    assert KERNEL.check(prepared.result(), KERNEL.reference(*inputs)).passed


def test_scratch_grids_are_reused_and_bounded():
    out = np.zeros((9, 10))
    first = buffers.scratch_like(out)
    assert buffers.scratch_like(np.ones((9, 10))) is first
    for n in range(11, 15):
        buffers.scratch_like(np.zeros((3, n)))
    assert len(buffers._SCRATCH) <= buffers._KEEP


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_sweep_pairs_end_in_out(steps):
    u0, out = np.ones((4, 4)), np.zeros((4, 4))
    pairs = buffers.sweep_pairs(u0, steps, out)
    assert pairs[0][0] is u0 and pairs[-1][1] is out and len(pairs) == steps
    assert all(pairs[k][1] is pairs[k + 1][0] for k in range(steps - 1))


CUPY_SIZES = [package.QUICK_SIZE, (3, 17, 3), (1, 5, 2), (13, 17, 3)]


@pytest.mark.parametrize("size", CUPY_SIZES, ids=KERNEL.size_label)
def test_cupy_impl_runs_on_numpy_arrays(size):
    u0, steps = KERNEL.make_inputs(size)
    out = np.zeros(size[:2])
    assert cupy_impl.stencil2d(u0, steps, out) is out
    assert KERNEL.check(out, KERNEL.reference(u0, steps)).passed


CUDASIM_SCRIPT = textwrap.dedent(
    """
    import json
    from haiend.kernels.stencil2d import stencil2d as kernel
    variant = kernel.variants["cuda"]
    results = []
    for size in [(5, 7, 3), (3, 9, 2), (2, 4, 3), (11, 13, 2), (7, 40, 1)]:
        inputs = kernel.make_inputs(size)
        check = kernel.check(variant(*inputs), kernel.reference(*inputs))
        results.append([size, bool(variant.available()), check.passed, check.error])
    print(json.dumps(results))
    """
)


def test_cuda_variant_under_the_simulator():
    """The simulator runs one thread at a time, so the grids are tiny."""
    results = json.loads(helpers.under_cuda_simulator(CUDASIM_SCRIPT))
    failed = [r for r in results if not (r[1] and r[2])]
    assert len(results) == 5 and failed == [], f"(size, available, passed, error): {failed}"


def _mpi_bench(ranks, *extra):
    outcomes, _ = helpers.mpi_bench("stencil2d", ranks, "--quick", *extra)
    assert [o["status"] for o in outcomes] == ["measured"], [o["reason"] for o in outcomes]
    assert outcomes[0]["record"]["ranks"] == ranks
    return outcomes


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_variant_under_mpiexec(ranks):
    outcomes = _mpi_bench(ranks)
    assert outcomes[0]["size"] == list(package.QUICK_SIZE)


@pytest.mark.mpi
@pytest.mark.parametrize("size", ["13x17x3", "4x9x5"])  # 11 rows = 4 + 4 + 3; 2 rows for 3 ranks
def test_mpi_variant_with_uneven_splits(size):
    outcomes = _mpi_bench(3, "--size", size)
    assert outcomes[0]["size"] == [int(v) for v in size.split("x")]


def test_default_size_follows_the_cache_and_free_memory():
    machine = {"last_level_cache_bytes": 32 * 2**20, "memory_available_bytes": 64 * 2**30}
    ny, nx, steps = package.default_size(machine)
    assert ny == nx and ny * nx * 8 >= 4 * 32 * 2**20 and steps % 4 == 0
    assert KERNEL.bytes_moved((ny, nx, steps)) >= 16e9
    ny, nx, steps = package.default_size({"last_level_cache_bytes": 2**30, "memory_available_bytes": 2**30})
    assert 3 * 8 * ny * nx <= 2**30 // 4 or ny == 1000
