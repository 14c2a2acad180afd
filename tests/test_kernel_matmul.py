"""What is particular to matmul: its cost model, its dtypes, and the sizes that reach every edge of
numba_blocked with the blocks haiend.tune derived for this machine (``edge_size``: partial k-slab,
column block and register tiles; small blocks passed explicitly reach the row blocks too). Every
realisation is checked against the reference at all of ``kernel.check_sizes`` (``edge_size``
among them) by tests/test_contract.py.
"""

import numpy as np
import pytest

from haiend import kernels
from haiend.kernels.matmul import edge_size

KERNELS = ["matmul.float64", "matmul.float32", "matmul.float16", "matmul.bfloat16"]


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

    assert edge_size() in kernels.get("matmul").check_sizes
    m, k, n = edge_size()
    assert k > 4 * KC and k % KC and k % (2 * KC), (
        "k should end in a partial slab after two whole float32 ones"
    )
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


def test_slab_depth_keeps_the_bytes_of_the_derived_kc():
    """haiend.tune derives KC for doubles; a float32 slab row holds twice the items in the same bytes."""
    from haiend.kernels.matmul.numba_impl import KC, slab_depth

    assert slab_depth(np.zeros((1, 1), np.float64)) == KC
    assert slab_depth(np.zeros((1, 1), np.float32)) == 2 * KC
