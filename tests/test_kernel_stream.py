"""STREAM: every realisation of every operation against the reference, at awkward sizes too."""


import numpy as np
import pytest

from haiend import kernels
from haiend.errors import HaiendError
from haiend.kernels import Check, stream

OPERATIONS = ("copy", "scale", "add", "triad")
KERNELS = {name: getattr(stream, name) for name in OPERATIONS}


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
