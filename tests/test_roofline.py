"""The roofline arithmetic, on numbers worked out by hand."""

import pytest

from haiend.roofline import Roof, arithmetic_intensity, fraction_of_roof, theoretical_peak

# 10 GB/s and 80 GFLOP/s: the ridge is at 8 flop/byte
ROOF = Roof(bandwidth=10e9, peak=80e9, threads=4, bandwidth_source="test", peak_source="test")


def test_ridge():
    assert ROOF.ridge == 8.0


@pytest.mark.parametrize(
    "intensity, attainable",
    [(0.0, 0.0), (1 / 12, 10e9 / 12), (1.0, 10e9), (8.0, 80e9), (100.0, 80e9)],
)
def test_attainable(intensity, attainable):
    assert ROOF.attainable(intensity) == pytest.approx(attainable)


@pytest.mark.parametrize(
    "intensity, bound", [(0.0, "memory"), (7.99, "memory"), (8.0, "compute"), (50.0, "compute")]
)
def test_bound(intensity, bound):
    assert ROOF.bound(intensity) == bound


def test_arithmetic_intensity():
    assert arithmetic_intensity(2.0, 24.0) == pytest.approx(1 / 12)  # STREAM triad
    assert arithmetic_intensity(0.0, 16.0) == 0.0  # STREAM copy


@pytest.mark.parametrize("bytes_moved", [0.0, -1.0])
def test_arithmetic_intensity_needs_positive_bytes(bytes_moved):
    with pytest.raises(ValueError, match="positive number of bytes"):
        arithmetic_intensity(1.0, bytes_moved)


def test_fraction_of_roof_memory_bound():
    # triad of 1e6 elements: 24e6 bytes, 2e6 flops; 4 ms is 6 GB/s of a 10 GB/s roof
    fraction = fraction_of_roof(2e6, 24e6, 4e-3, ROOF)
    assert fraction == pytest.approx(0.6)
    # the same as the flop rate over the attainable rate at this intensity
    assert fraction == pytest.approx((2e6 / 4e-3) / ROOF.attainable(2e6 / 24e6))


def test_fraction_of_roof_compute_bound():
    # dgemm n=1000: 2e9 flops over 24e6 bytes (intensity 83); 50 ms is 40 GFLOP/s of 80
    fraction = fraction_of_roof(2e9, 24e6, 50e-3, ROOF)
    assert fraction == pytest.approx(0.5)


def test_fraction_of_roof_copy_with_zero_flops():
    # copy moves 16 bytes per element and computes nothing: judged by bandwidth alone
    fraction = fraction_of_roof(0.0, 16e6, 2e-3, ROOF)
    assert fraction == pytest.approx(0.8)


@pytest.mark.parametrize("seconds", [0.0, -1e-3])
def test_fraction_of_roof_needs_a_positive_time(seconds):
    with pytest.raises(ValueError, match="positive"):
        fraction_of_roof(1.0, 1.0, seconds, ROOF)


def test_fraction_of_roof_needs_positive_bytes():
    with pytest.raises(ValueError, match="bytes"):
        fraction_of_roof(1.0, 0.0, 1.0, ROOF)


def test_theoretical_peak():
    # 3 GHz x 8 doubles (AVX-512) x 2 FMA units x 2 flops per FMA = 96 GFLOP/s per core (Sapphire Rapids)
    assert theoretical_peak(3e9, 8, 2) == 96e9
    # a Zen 4 core takes 512-bit FMAs but has two 256-bit pipes: 4 doubles x 2 units, half of that
    assert theoretical_peak(3e9, 4, 2) == 48e9
    assert theoretical_peak(3e9, 8, 2, cores=4) == 384e9
    assert theoretical_peak(2e9, 2, 1) == 8e9
