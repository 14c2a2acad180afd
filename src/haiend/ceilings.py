"""Measure this machine's roofs, for one thread and for every available core, and cache them.

* Memory bandwidth: STREAM triad (24 bytes per element) on vectors four times the last-level
  cache, best of the repeats, as STREAM reports it. The C realisation when a compiler is
  present, else the best other CPU realisation available (and the source says which).
* Peak FP64: BLAS dgemm (``numpy.matmul`` on float64), 2 n^3 flops, best of the repeats; and
  peak FP32 the same way with sgemm, so that float32 kernels are judged against their own roof.
* Theoretical FP64 peak, where it can be derived: the clock measured with a chain of dependent
  adds (clock.c), times the FMA units per core and the doubles each takes, times 2 flops per
  FMA. No flag reveals the units (a Zen 4 core takes AVX-512 but has two 256-bit FMA pipes), so
  they come from the microarchitecture table in ``haiend.microarch``; for a CPU it does not know,
  two units of the widest vector the flags allow are assumed. ``peak_note`` says which, and the
  peak is derived again from the stored clock whenever cached ceilings are loaded, so a
  corrected table row needs no new measurement.

Ceilings are cached in ``<results>/<machine id>/ceilings.json`` together with the performance
environment (``OPENBLAS_CORETYPE`` halves dgemm here), and measured again when it differs or on
request (``haiend roofline --remeasure``).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from haiend import machine, microarch, records, threads
from haiend.errors import HaiendError
from haiend.roofline import CacheLevel, Roof, level_of, theoretical_peak
from haiend.timing import benchmark

DGEMM_N = 2048
QUICK_DGEMM_N = 512


#: dtypes judged against the float32 (sgemm) peak: float32, and the 16-bit formats summed in float32.
FLOAT32_ARITHMETIC = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Ceilings:
    """Measured roofs per thread count, with the clock-derived peak and how it was obtained."""

    machine_id: str
    roofs: dict[int, Roof]  # float64 roofs by thread count
    float32_peaks: dict[int, tuple[float, str]] = field(default_factory=dict)  # sgemm flop/s, source
    clock_hz: float | None = None
    theoretical_peak_per_core: float | None = None
    peak_note: str = ""  # where the FMA units and widths of the theoretical peak came from
    environment: dict[str, str] = field(default_factory=dict)
    measured_at: str = ""
    quick: bool = False
    levels: dict[int, tuple[CacheLevel, ...]] = field(
        default_factory=dict
    )  # cache bandwidths by thread count

    def roof(self, threads_: int = 1, dtype: str = "float64", footprint: float | None = None) -> Roof:
        """The roof for ``threads_`` (that count if measured, else the largest measured below it)
        and ``dtype``: float32 keeps the bandwidth and takes the measured sgemm peak, and so do
        float16 and bfloat16 (``FLOAT32_ARITHMETIC``), which a CPU without 16-bit arithmetic
        computes in float32 (the matmul kernels' specifications say so).

        With ``footprint`` (the bytes a kernel's data takes), the bandwidth is that of the level
        of the hierarchy the data fits in (:func:`haiend.roofline.level_of`): a working set in
        L2 is judged against L2's bandwidth, not memory's.
        """
        counts = sorted(self.roofs)
        below = [c for c in counts if c <= threads_] or counts[:1]
        roof = self.roofs[below[-1]]
        if footprint is not None and self.levels.get(below[-1]):
            levels = self.levels[below[-1]]
            where = level_of(footprint, threads_, levels)
            level = next((lv for lv in levels if lv.name == where), None)
            if level is not None:
                roof = replace(
                    roof, bandwidth=level.bandwidth, bandwidth_source=level.source, level=level.name
                )
        if dtype in FLOAT32_ARITHMETIC:
            if below[-1] not in self.float32_peaks:
                raise HaiendError("these ceilings have no float32 peak: run 'haiend roofline --remeasure'.")
            peak, source = self.float32_peaks[below[-1]]
            return replace(roof, peak=peak, peak_source=source)
        return roof

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine_id": self.machine_id,
            "roofs": {
                str(n): {
                    "bandwidth": r.bandwidth,
                    "peak": r.peak,
                    "bandwidth_source": r.bandwidth_source,
                    "peak_source": r.peak_source,
                }
                for n, r in self.roofs.items()
            },
            "float32_peaks": {str(n): {"peak": p, "source": s} for n, (p, s) in self.float32_peaks.items()},
            "clock_hz": self.clock_hz,
            "theoretical_peak_per_core": self.theoretical_peak_per_core,
            "peak_note": self.peak_note,
            "environment": self.environment,
            "measured_at": self.measured_at,
            "quick": self.quick,
            "levels": {
                str(n): [
                    {
                        "name": lv.name,
                        "capacity": lv.capacity,
                        "shared": lv.shared,
                        "bandwidth": lv.bandwidth,
                        "source": lv.source,
                    }
                    for lv in levels
                ]
                for n, levels in self.levels.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ceilings:
        roofs = {int(n): Roof(threads=int(n), **r) for n, r in data["roofs"].items()}
        float32 = {int(n): (v["peak"], v["source"]) for n, v in data.get("float32_peaks", {}).items()}
        return cls(
            machine_id=data["machine_id"],
            roofs=roofs,
            float32_peaks=float32,
            clock_hz=data.get("clock_hz"),
            theoretical_peak_per_core=data.get("theoretical_peak_per_core"),
            peak_note=data.get("peak_note", ""),
            environment=data.get("environment", {}),
            measured_at=data.get("measured_at", ""),
            quick=bool(data.get("quick", False)),
            levels={
                int(n): tuple(CacheLevel(**lv) for lv in levels)
                for n, levels in data.get("levels", {}).items()
            },
        )

    def notes(self) -> list[str]:
        """Where each figure came from, in sentences, for the CLI and the notebooks alike."""
        lines = [
            f"{n} thread(s): {r.bandwidth_source}; {r.peak_source}" for n, r in sorted(self.roofs.items())
        ]
        for n, levels in sorted(self.levels.items()):
            lines += [f"{n} thread(s), data in {lv.name}: {lv.source}" for lv in levels]
        if self.theoretical_peak_per_core:
            lines.append(
                f"theoretical FP64 peak per core: {self.theoretical_peak_per_core / 1e9:.1f} GFLOP/s"
                f" (measured clock {self.clock_hz / 1e9:.2f} GHz"
                f" x {self.peak_note or 'FMA units x doubles x 2'})"
            )
        if self.environment:
            lines.append("environment: " + ", ".join(f"{k}={v}" for k, v in self.environment.items()))
        if self.quick:
            lines.append("quick sizes: the data may fit in cache, so the bandwidth may be cache bandwidth")
        return lines


def get(
    *,
    remeasure: bool = False,
    quick: bool = False,
    directory: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Ceilings:
    """The ceilings of this machine: from the cache when it matches, else measured and cached.

    A quick measurement (small sizes) is never used when a full one is asked for.
    """
    info = machine.describe()
    environment = info.get("performance_environment", {})
    if not remeasure:
        cached = records.load_ceilings(info["machine_id"], directory)
        if cached is not None:
            ceilings = Ceilings.from_dict(cached)
            # caches from before float32 roofs and cache levels were measured are measured again
            complete = bool(ceilings.float32_peaks) and (bool(ceilings.levels) or not cache_levels(info))
            if complete and ceilings.environment == environment and (quick or not ceilings.quick):
                return with_theoretical_peak(ceilings, info)
    ceilings = measure(info, quick=quick, progress=progress)
    records.save_ceilings(info["machine_id"], ceilings.to_dict(), directory)
    return ceilings


def measure(info: dict[str, Any] | None = None, *, quick: bool = False, progress=None) -> Ceilings:
    """Measure bandwidth and peak for one thread and for all available cores (no caching)."""
    info = info or machine.describe()
    say = progress or (lambda message: None)
    counts = sorted({1, threads.available()})
    roofs, float32_peaks, levels = {}, {}, {}
    for n in counts:
        say(f"measuring memory bandwidth with {n} thread(s)")
        bandwidth, bandwidth_source = measure_bandwidth(info, n, quick=quick)
        say(f"measuring peak FP64 (dgemm) and FP32 (sgemm) with {n} thread(s)")
        peak, peak_source = measure_gemm(n, quick=quick)
        if n > 1 and (bandwidth < roofs[1].bandwidth or peak < roofs[1].peak):
            # More cores measured slower than one: another process had a core. Try once more,
            # keep the better of the two, and say so in the source.
            say(f"{n} threads measured slower than 1; measuring once more")
            again = measure_bandwidth(info, n, quick=quick)
            bandwidth, bandwidth_source = max((bandwidth, bandwidth_source), again)
            again = measure_gemm(n, quick=quick)
            peak, peak_source = max((peak, peak_source), again)
            bandwidth_source += " (best of two tries)"
            peak_source += " (best of two tries)"
        roofs[n] = Roof(bandwidth, peak, n, bandwidth_source, peak_source)
        float32_peaks[n] = measure_gemm(n, quick=quick, dtype=np.float32)
        say(f"measuring the bandwidth of each cache level with {n} thread(s)")
        levels[n] = measure_levels(info, n, quick=quick)
    say("measuring the core clock")
    clock = measure_clock()
    measured = Ceilings(
        machine_id=info["machine_id"],
        roofs=roofs,
        float32_peaks=float32_peaks,
        clock_hz=clock,
        environment=info.get("performance_environment", {}),
        measured_at=records.now_stamp(),
        quick=quick,
        levels={n: lv for n, lv in levels.items() if lv},
    )
    return with_theoretical_peak(measured, info)


def peak_model(info: dict[str, Any]) -> tuple[int, int, str]:
    """(FMA units, doubles per FMA, note) for the theoretical FP64 peak of one core of ``info``'s CPU.

    The host's widest vector (what BLAS and C compiled for the host use), with the units the
    microarchitecture table gives for it; the note names the row and its source, or the assumption.
    """
    ident = microarch.identify(info)
    bits = microarch.isa_bits(info.get("simd") or [])
    units, width = ident.fma_at(bits)
    doubles = max(1, min(width, bits) // 64)
    how = f"the {ident.row.name} row of haiend.microarch ({ident.row.source})"
    if ident.assumed:
        how = f"assumed: {ident.assumed}"
    return units, doubles, f"{units} FMA units x {doubles} doubles x 2 flops per FMA, from {how}"


def with_theoretical_peak(ceilings: Ceilings, info: dict[str, Any]) -> Ceilings:
    """``ceilings`` with the theoretical peak derived from its measured clock and the table, or
    none where the clock could not be measured or the CPU has no FMA."""
    simd = info.get("simd") or []
    if ceilings.clock_hz is None or not ({"fma", "asimd"} & set(simd)):
        return replace(ceilings, theoretical_peak_per_core=None, peak_note="")
    units, doubles, note = peak_model(info)
    per_core = theoretical_peak(ceilings.clock_hz, doubles, units)
    return replace(ceilings, theoretical_peak_per_core=per_core, peak_note=note)


def measure_bandwidth(info: dict[str, Any], n_threads: int, *, quick: bool = False) -> tuple[float, str]:
    """STREAM triad bandwidth in bytes/s (best of the repeats) and a sentence naming its source."""
    from haiend import kernels

    triad = kernels.get("stream.triad")
    size = triad.quick_size if quick else triad.default_size(info)
    inputs = triad.make_inputs(size)
    expected = triad.reference(*inputs)
    for name in ("c", "numba_parallel" if n_threads > 1 else "numba", "numpy"):
        variant = triad.variants[name]
        if not variant.available():
            continue
        prepared = variant.prepare(inputs)
        with threads.limit(n_threads):
            timing = benchmark(prepared.call, n_repeat=5 if quick else 10, n_warmup=1)
        check = triad.check(prepared.result(), expected)
        if not check.passed:
            raise HaiendError(
                f"the {name} STREAM triad gave a wrong result ({check}); no bandwidth measured."
            )
        source = f"STREAM triad ({name}), n={size[0]}, {n_threads} thread(s), best of {timing.n_repeat}"
        return triad.bytes_moved(size) / timing.min, source
    raise HaiendError("no STREAM triad realisation can run here, so no bandwidth can be measured.")


def cache_levels(info: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(name, capacity in bytes, shared) of each data cache level the fingerprint reports.

    The last level is taken as shared by every core used and the others as private to a core,
    which is how most CPUs are built (on AMD EPYC the L3 is shared by the cores of one CCX only;
    a thread count beyond one CCX overstates the L3 it can use).
    """
    caches = {name: size for name, size in (info.get("caches") or {}).items() if name != "L1i" and size}
    names = sorted(caches, key=lambda name: caches[name])
    return [(name, int(caches[name]), name == names[-1] and len(names) > 1) for name in names]


def measure_levels(info: dict[str, Any], n_threads: int, *, quick: bool = False) -> tuple[CacheLevel, ...]:
    """The triad's bandwidth with its data in each cache level, ``n_threads`` threads (needs a C compiler).

    The working set is half a level's capacity (each thread's share for a private level, the
    whole for a shared one), and larger than everything the levels inside it hold, else that
    level is left out. The C loop repeats the triad over the same data inside one call
    (``cache_triad.c``), so that a call lasts milliseconds however small the data; best of the
    repeats, bytes counted as STREAM counts them (24 per element).
    """
    from haiend import cbuild
    from haiend.requirements import c_compiler

    if c_compiler() is None:
        return ()
    built = cbuild.build(Path(__file__).with_name("cache_triad.c"))
    function = built.library.cache_triad
    pointer = ctypes.POINTER(ctypes.c_double)
    function.argtypes = [
        pointer,
        pointer,
        ctypes.c_double,
        pointer,
        ctypes.c_size_t,
        ctypes.c_long,
        ctypes.c_int,
    ]
    function.restype = None
    measured: list[CacheLevel] = []
    inner = 0.0  # bytes the levels inside this one hold, for all the threads
    for name, capacity, shared in cache_levels(info):
        total = capacity / 2 if shared else n_threads * capacity / 2
        if total <= inner:
            continue
        inner = capacity if shared else n_threads * capacity
        n = max(n_threads * 64, int(total // 24) // 8 * 8)
        rng = np.random.default_rng(0)
        b, c, out = rng.random(n), rng.random(n), np.zeros(n)
        args = [b.ctypes.data_as(pointer), c.ctypes.data_as(pointer), 3.0, out.ctypes.data_as(pointer), n]

        def run(repeats: int, args=tuple(args)) -> None:
            function(*args, repeats, n_threads)

        run(1)  # first touch, and the OpenMP threads started
        repeats, target = 4, 0.002 if quick else 0.01
        while True:  # double until one call lasts the target time: thread start-up is then noise
            start = time.perf_counter()
            run(repeats)
            if time.perf_counter() - start >= target or repeats > 2**30:
                break
            repeats *= 2
        timing = benchmark(run, (repeats,), n_repeat=3 if quick else 7, n_warmup=1)
        if not np.allclose(out, b + 3.0 * c, rtol=0, atol=1e-12):
            raise HaiendError(f"the cache triad gave a wrong result in {name}; no bandwidth measured.")
        bandwidth = 24.0 * n * repeats / timing.min
        where = "each core's share" if not shared else "shared by the threads"
        source = (
            f"C triad repeated {repeats} times over {24 * n / 2**10:.0f} KiB ({where}: half of {name}),"
            f" {n_threads} thread(s), best of {timing.n_repeat}"
        )
        measured.append(CacheLevel(name, capacity, shared, bandwidth, source))
    return tuple(measured)


def measure_gemm(n_threads: int, *, quick: bool = False, dtype=np.float64) -> tuple[float, str]:
    """BLAS gemm rate in flop/s (best of the repeats) and a sentence naming the BLAS and kernel."""
    from threadpoolctl import threadpool_info

    n = QUICK_DGEMM_N if quick else DGEMM_N
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    with threads.limit(n_threads):
        timing = benchmark(np.matmul, (a, b), {"out": out}, n_repeat=3 if quick else 5, n_warmup=1)
    blas = next((lib for lib in threadpool_info() if lib["user_api"] == "blas"), {})
    name = f"{blas.get('internal_api', 'BLAS')} {blas.get('architecture') or ''}".strip()
    routine = {"float64": "dgemm", "float32": "sgemm"}[np.dtype(dtype).name]
    return (
        2.0 * n**3 / timing.min,
        f"{routine} ({name}) n={n}, {n_threads} thread(s), best of {timing.n_repeat}",
    )


def measure_clock(iterations: int = 2_000_000, samples: int = 25) -> float | None:
    """The core clock in Hz from dependent adds (8 per iteration), or None where it cannot be run.

    Many short samples (about 5 ms each) and the fastest kept: on a shared machine most long
    samples are interrupted, and an interrupted sample can only look slower, never faster.
    """
    from haiend import cbuild
    from haiend.requirements import c_compiler

    if c_compiler() is None:
        return None
    built = cbuild.build(Path(__file__).with_name("clock.c"), ("-O1",))
    function = built.library.dependent_adds
    function.argtypes = [ctypes.c_uint64]
    function.restype = ctypes.c_uint64
    best = float("inf")
    for _ in range(samples):
        t0 = time.perf_counter()
        counted = function(iterations)
        best = min(best, time.perf_counter() - t0)
    if counted == 0:
        return None
    return 8 * iterations / best
