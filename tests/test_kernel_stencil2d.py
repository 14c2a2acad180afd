"""What is particular to stencil2d: the reference by hand, fixed edges, repeated calls, scratch grids.

Every realisation is checked against the reference at the awkward grids and step counts of
``kernel.check_sizes`` by tests/test_contract.py.
"""


import numpy as np
import pytest

from haiend import kernels
from haiend.kernels import stencil2d as package
from haiend.kernels.stencil2d import buffers

KERNEL = package.stencil2d


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


def test_default_size_follows_the_cache_and_free_memory():
    machine = {"last_level_cache_bytes": 32 * 2**20, "memory_available_bytes": 64 * 2**30}
    ny, nx, steps = package.default_size(machine)
    assert ny == nx and ny * nx * 8 >= 4 * 32 * 2**20 and steps % 4 == 0
    assert KERNEL.bytes_moved((ny, nx, steps)) >= 16e9
    ny, nx, steps = package.default_size({"last_level_cache_bytes": 2**30, "memory_available_bytes": 2**30})
    assert 3 * 8 * ny * nx <= 2**30 // 4 or ny == 1000
