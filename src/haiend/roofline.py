"""The roofline model as plain arithmetic: no timing, no files, no plotting.

A machine has two roofs for a given number of threads: the memory bandwidth ``B`` (bytes/s) and
the peak floating-point rate ``P`` (flop/s). A kernel that performs ``F`` flops while moving ``Q``
bytes has arithmetic intensity ``I = F / Q`` and can reach at most ``min(P, B * I)``. The ridge
point ``P / B`` separates memory-bound kernels (left of it) from compute-bound ones (right).

Measuring ``B`` and ``P`` on this machine is the job of :mod:`haiend.ceilings`; this module only
computes with them, so that it is exact and testable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Roof:
    """The two ceilings for one thread count, with where each number came from."""

    bandwidth: float  # bytes per second
    peak: float  # flop per second
    threads: int = 1
    bandwidth_source: str = ""
    peak_source: str = ""
    level: str = "memory"  # where the data of a kernel judged by this roof lives: L1d, L2, L3, memory

    @property
    def ridge(self) -> float:
        """The intensity (flop/byte) at which the kernel stops being limited by memory."""
        return self.peak / self.bandwidth

    def attainable(self, intensity: float) -> float:
        """The highest flop rate a kernel of this intensity can reach under this roof."""
        return min(self.peak, self.bandwidth * intensity)

    def bound(self, intensity: float) -> str:
        return "memory" if intensity < self.ridge else "compute"


@dataclass(frozen=True)
class CacheLevel:
    """One level of the cache hierarchy: its capacity, whether the cores share it, its bandwidth."""

    name: str  # "L1d", "L2", "L3"
    capacity: int  # bytes, of one instance (one core's share for a private level)
    shared: bool  # one instance for all the cores used (the last level), else one per core
    bandwidth: float  # bytes per second, measured with the data in this level
    source: str = ""


def level_of(footprint: float, threads: int, levels: list[CacheLevel] | tuple[CacheLevel, ...]) -> str:
    """The innermost level that holds a working set of ``footprint`` bytes spread over ``threads``.

    A private level holds it when each thread's share (``footprint / threads``) fits one core's
    capacity; a shared level when the whole of it fits. "memory" when no level does. This is the
    capacity rule of the hierarchical roofline: it ignores conflict misses and what other data
    competes for the cache, so a working set near a capacity may in truth spill.
    """
    for level in sorted(levels, key=lambda lv: (lv.shared, lv.capacity)):
        share = footprint if level.shared else footprint / max(threads, 1)
        if share <= level.capacity:
            return level.name
    return "memory"


def arithmetic_intensity(flops: float, bytes_moved: float) -> float:
    """Flops per byte moved to or from memory; 0 for kernels that only move data."""
    if bytes_moved <= 0:
        raise ValueError("a kernel must move a positive number of bytes")
    return flops / bytes_moved


def fraction_of_roof(flops: float, bytes_moved: float, seconds: float, roof: Roof) -> float:
    """How much of the roof above it a measured call reached, from 0 to (about) 1.

    A memory-bound kernel is judged by its bandwidth against the bandwidth roof, a
    compute-bound one by its flop rate against the peak. For kernels with flops this is the
    same as (flops / seconds) / roof.attainable(intensity); for pure data movement (STREAM
    copy) it still gives a meaningful answer.
    """
    if seconds <= 0:
        raise ValueError("a measured time must be positive")
    intensity = arithmetic_intensity(flops, bytes_moved)
    if intensity < roof.ridge:
        return (bytes_moved / seconds) / roof.bandwidth
    return (flops / seconds) / roof.peak


def theoretical_peak(clock_hz: float, simd_doubles: int, fma_units: int, cores: int = 1) -> float:
    """FP64 peak: cores x FMA units x doubles per vector x 2 flops per FMA x clock."""
    return cores * fma_units * simd_doubles * 2 * clock_hz
