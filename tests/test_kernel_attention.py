"""What is particular to attention: the reference by hand, the stable softmax under huge logits,
every edge of the fused variant's tiles, the tolerance against a plausible mistake, and the extra
memory of the unfused and fused variants measured for two sequence lengths. Every realisation is
checked against the reference at the awkward sizes of ``kernel.check_sizes`` by
tests/test_contract.py.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from haiend import kernels
from haiend.kernels.attention import fused_impl, numpy_fused_impl, numpy_impl, tiles

KERNELS = ("attention.float64", "attention.float32")
HOST = ("numpy", "numpy_fused", "numba", "numba_fused", "numba_parallel", "c", "mpi")


def _available(variant):
    availability = variant.available()
    if not availability:
        pytest.skip(availability.reason)
    return variant


@pytest.mark.parametrize("name", KERNELS)
def test_registry_names_and_cost_model(name):
    kernel = kernels.get(name)
    assert kernels.get("attention").name == "attention.float64"
    assert [k.name for k in kernels.group("attention")] == list(KERNELS)
    itemsize = np.dtype(name.split(".")[1]).itemsize
    size = (2, 3, 100, 16)
    assert kernel.flops(size) == 4 * 6 * 100 * 100 * 16 + 5 * 6 * 100 * 100
    assert kernel.bytes_moved(size) == 4 * itemsize * 6 * 100 * 16
    assert kernel.baseline == "numpy" and kernel.spec.merit == "gflop_per_s"
    assert set(kernel.variants) == {*HOST, "cupy", "cuda"}
    machine = {"caches": {"L2": 2**20}, "memory_available_bytes": 16 * 2**30}
    batch, heads, seq, d = kernel.default_size(machine)
    assert 2 * seq * d * itemsize >= 4 * 2**20  # K and V of one head leave L2
    assert heads * seq * seq * itemsize <= 16 * 2**30 / 8


def test_reference_for_one_head_by_hand():
    """d = 4, so the scale is 1/2: the scores of the one query are 1 and 0, the weights e/(e+1) and 1/(e+1)."""
    Q = np.array([[[[2.0, 0.0, 0.0, 0.0]]]])
    K = np.array([[[[1.0, 0.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0]]]])
    V = np.array([[[[1.0, 0.0, 2.0, -1.0], [3.0, 1.0, 0.0, -1.0]]]])
    e = math.e
    expected = (e * V[0, 0, 0] + V[0, 0, 1]) / (e + 1)
    np.testing.assert_allclose(
        kernels.get("attention.float64").reference(Q, K, V)[0, 0, 0], expected, rtol=1e-15
    )


def test_one_key_gives_its_value():
    kernel = kernels.get("attention.float64")
    Q, K, V = kernel.make_inputs((2, 3, 1, 5))
    np.testing.assert_allclose(kernel.reference(Q, K, V), V, rtol=1e-15)


def _huge(kernel):
    """Inputs whose logits reach about 1e5: exp of them overflows in either dtype."""
    Q, K, V = kernel.make_inputs((1, 2, 33, 8), seed=5)
    return Q * Q.dtype.type(300), K * K.dtype.type(300), V


def test_a_softmax_without_the_maximum_overflows_to_nan():
    """The test below means something: the textbook softmax gives NaN on these inputs."""
    Q, K, V = _huge(kernels.get("attention.float64"))
    S = np.matmul(Q, K.swapaxes(-1, -2)) / math.sqrt(Q.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.exp(S)
        naive = np.matmul(P / P.sum(axis=-1, keepdims=True), V)
    assert np.isnan(naive).any()


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("variant_name", HOST)
def test_huge_logits_give_no_nan(name, variant_name):
    kernel = kernels.get(name)
    variant = _available(kernel.variants[variant_name])
    inputs = _huge(kernel)
    expected = kernel.reference(*inputs)
    assert np.isfinite(expected).all()
    result = variant(*inputs)
    assert np.isfinite(result).all(), f"{variant_name} gave NaN or inf on huge logits"
    if name == "attention.float64":  # in float32 an error of u * 1e5 in a logit is a real 1e-2 in a weight
        check = kernel.check(result, expected)
        assert check.passed, check


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("tile", [1, 3, 5, 16, 17, 40])
def test_fused_reaches_every_edge_of_its_tiles(name, tile):
    """seq = 17 in tiles of 1 (a new maximum at almost every key), 3 and 5 (a partial last tile), 16,
    17 (one whole tile) and 40 (a tile longer than the sequence)."""
    kernel = kernels.get(name)
    inputs = kernel.make_inputs((1, 2, 17, 7), seed=2)
    out = fused_impl.fused(*inputs, kernel.allocate_output(*inputs), tile=tile)
    check = kernel.check(out, kernel.reference(*inputs))
    assert check.passed, f"tile {tile}: {check}"


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (4, 5), (17, 3), (6, 17), (40, 40)])
def test_numpy_fused_reaches_every_edge_of_its_blocks(name, rows, cols):
    """seq = 17 in blocks of one row and one key, partial last blocks of rows and of keys, one whole
    block, and blocks longer than the sequence."""
    kernel = kernels.get(name)
    inputs = kernel.make_inputs((1, 2, 17, 7), seed=2)
    out = numpy_fused_impl.fused(*inputs, kernel.allocate_output(*inputs), rows=rows, cols=cols)
    check = kernel.check(out, kernel.reference(*inputs))
    assert check.passed, f"rows {rows}, cols {cols}: {check}"


def test_tiles_come_from_the_l2_working_set():
    assert tiles.tile_for(10**6, 64, 8) == max(1, tiles.FITS_L2 // (4 * 64 * 8))
    assert tiles.tile_for(5, 64, 8) <= 5
    assert tiles.tile_for(10**6, 10**9, 8) == 1
    cols = tiles.tile_for(10**6, 64, 4)
    assert (
        tiles.rows_for(10**6, cols, 4) * cols * 4
        <= tiles.FITS_L2
        < (tiles.rows_for(10**6, cols, 4) + 1) * cols * 4
    )
    assert tiles.rows_for(3, cols, 4) == 3


@pytest.mark.parametrize("name", KERNELS)
def test_tolerance_catches_a_missing_scale(name):
    """The scale 1/sqrt(d) left out: a plausible mistake, far outside the tolerance."""
    kernel = kernels.get(name)
    Q, K, V = kernel.make_inputs(kernel.quick_size)
    d = Q.shape[-1]
    wrong = kernel.reference(Q * Q.dtype.type(math.sqrt(d)), K, V).astype(Q.dtype)
    assert not kernel.check(wrong, kernel.reference(Q, K, V)).passed


def _peak_bytes(function, inputs, out) -> int:
    """The peak of memory allocated through Python's allocators (NumPy's arrays included) during one call."""
    function(*inputs, out)  # compiled and warm before measuring
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        function(*inputs, out)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


FUSED = {"numba_fused": fused_impl.fused, "numpy_fused": numpy_fused_impl.fused}


@pytest.mark.parametrize("fused_name", FUSED)
def test_fused_memory_grows_as_seq_while_unfused_grows_as_seq_squared(fused_name):
    """seq 1024 and 2048: the fused variants' tiles are at their full size from the fingerprint at both."""
    kernel = kernels.get("attention.float64")
    peaks = {}
    for seq in (1024, 2048):
        inputs = kernel.make_inputs((1, 2, seq, 16))
        out = kernel.allocate_output(*inputs)
        peaks["unfused", seq] = _peak_bytes(numpy_impl.attention, inputs, out)
        peaks["fused", seq] = _peak_bytes(FUSED[fused_name], inputs, out)
    unfused, fused = (
        peaks["unfused", 2048] / peaks["unfused", 1024],
        peaks["fused", 2048] / peaks["fused", 1024],
    )
    assert peaks["unfused", 1024] >= 2 * 1024 * 1024 * 8  # the scores of both heads, at least
    assert unfused > 3.5, f"unfused: doubling seq multiplied the peak by {unfused:.2f}, not about 4"
    assert fused < 2.5, f"{fused_name}: doubling seq multiplied the peak by {fused:.2f}, not at most about 2"
    assert peaks["fused", 2048] < peaks["unfused", 2048] / 20, peaks
