"""Every matmul realisation against the float64 reference, at awkward sizes and both dtypes.

Sizes: primes (7x13x11), 1x1x1, the quick size, one that is not a multiple of any block
(37x300x29), and one made from the block sizes haiend.tune derived for this machine, which spans
three k-slabs and three column blocks of numba_blocked, each ending in a partial slab, block and
register tile (``EDGE``). The row blocks (MC, thousands of rows) are reached by passing
``numba_impl.blocked`` small blocks instead. The CUDA kernel runs under Numba's CUDA
simulator in a subprocess, because NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first
imported; the MPI variant runs under mpiexec with 2 and 3 ranks (uneven row blocks).
"""


import numpy as np
import pytest

import helpers
from haiend import kernels, tune

KERNELS = ["matmul.float64", "matmul.float32"]
_T = tune.this_machine()
EDGE = (
    2 * _T["matmul_mr"] + 1,
    2 * _T["matmul_kc"] + _T["matmul_kc"] // 2 + 1,
    2 * _T["matmul_nc"] + _T["matmul_nr"] + 1,
)
SIZES = [(7, 13, 11), (1, 1, 1), (64, 48, 80), (37, 300, 29), EDGE]
CPU_VARIANTS = ["numpy", "numba", "numba_blocked", "numba_parallel", "c", "mpi"]


def test_registry_and_cost_model():
    kernel = kernels.get("matmul")
    assert kernel.name == "matmul.float64" and kernel.baseline == "numpy"
    assert [k.name for k in kernels.group("matmul")] == KERNELS
    assert kernel.flops((2, 3, 4)) == 2 * 2 * 3 * 4
    assert kernel.bytes_moved((2, 3, 4)) == 8 * (6 + 12 + 8)
    assert kernels.get("matmul.float32").bytes_moved((2, 3, 4)) == 4 * (6 + 12 + 8)
    assert kernel.variants["numpy"].uses_blas and kernel.variants["numpy"].parallel
    assert kernel.default_size({"memory_available_bytes": 64 * 2**30}) == (2048, 2048, 2048)
    assert kernel.default_size({"memory_available_bytes": 2**28})[0] < 2048


@pytest.mark.parametrize("name", KERNELS)
def test_inputs_are_deterministic_and_typed(name):
    kernel = kernels.get(name)
    A, B = kernel.make_inputs((3, 4, 5), seed=1)
    assert A.shape == (3, 4) and B.shape == (4, 5) and A.dtype == B.dtype == np.dtype(name.split(".")[1])
    assert np.array_equal(A, kernel.make_inputs((3, 4, 5), seed=1)[0])


def test_awkward_size_reaches_every_edge_of_numba_blocked():
    from haiend.kernels.matmul.numba_impl import KC, MR, NC, NR

    m, k, n = SIZES[-1]
    assert k > 2 * KC and k % KC, "k should end in a partial slab after two whole ones"
    assert n > 2 * NC and (n % NC) % NR, "n should end in a partial block with a partial tile"
    assert m % MR, "m should end in a partial row tile"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_blocks_reach_every_edge_including_row_blocks(dtype):
    from haiend.kernels.matmul.numba_impl import MR, NR, blocked

    mc, kc, nc = 2 * MR, 16, 2 * NR
    m, k, n = 2 * mc + MR + 1, 2 * kc + 5, 2 * nc + NR + 1  # partial row block, slab, column block, tiles
    rng = np.random.default_rng(0)
    A, B = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    np.testing.assert_allclose(blocked(A, B, out, mc, kc, nc), A.astype(np.float64) @ B, rtol=1e-5)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("variant", CPU_VARIANTS)
@pytest.mark.parametrize("name", KERNELS)
def test_cpu_variant_matches_reference(name, variant, size):
    kernel = kernels.get(name)
    chosen = kernel.variants[variant]
    availability = chosen.available()
    if not availability:
        pytest.skip(availability.reason)
    inputs = kernel.make_inputs(size)
    result = chosen(*inputs)
    assert result.dtype == inputs[0].dtype
    check = kernel.check(result, kernel.reference(*inputs))
    assert check.passed, f"{name}/{variant} at {size}: {check}"


@pytest.mark.parametrize("name", KERNELS)
def test_cupy_code_runs_on_numpy_arrays(name):
    from haiend.kernels.matmul import cupy_impl

    kernel = kernels.get(name)
    for size in SIZES:
        inputs = kernel.make_inputs(size)
        out = kernel.allocate_output(*inputs)
        assert kernel.check(cupy_impl.matmul(*inputs, out), kernel.reference(*inputs)).passed


_SIMULATED = """
from haiend import kernels
for name in ("matmul.float64", "matmul.float32"):
    kernel = kernels.get(name)
    for size in [(17, 9, 13), (1, 1, 1), (3, 20, 5)]:
        inputs = kernel.make_inputs(size)
        check = kernel.check(kernel.variants["cuda"](*inputs), kernel.reference(*inputs))
        assert check.passed, (name, size, str(check))
print("ok")
"""


def test_cuda_kernel_under_the_simulator():
    assert helpers.under_cuda_simulator(_SIMULATED) == "ok"


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_variant_under_mpiexec(ranks):
    outcomes, _ = helpers.mpi_bench("matmul", ranks, "--quick")
    assert {o["kernel"] for o in outcomes} == set(KERNELS)
    assert all(o["status"] == "measured" for o in outcomes), outcomes
