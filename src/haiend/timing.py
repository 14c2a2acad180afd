"""The timing harness: cold call apart, warm-up, repeats, raw values kept.

``benchmark`` follows the shape of ``cupyx.profiler.benchmark``::

    result = benchmark(func, args=(x,), n_repeat=20, n_warmup=2, max_duration=5.0)
    print(result)            # median, min, interquartile range, spread, cold call
    result.times             # every warm per-call time, in seconds

Why it is written here rather than taken from pyperf or timeit: the first call of a JIT-compiled
function is the compile, and the labs need that cold call timed *apart*, the warm-up calls kept,
the raw values returned to the notebook, and the same object whether the work ran on a CPU or a
GPU. ``timeit`` throws the first call in with the rest and pyperf runs in worker processes, which
would recompile every Numba function in each. On a GPU (``sync="cuda"``) the repeats are handed to
``cupyx.profiler.benchmark``, which times with CUDA events.

Calls that are too short to time one by one (shorter than ``min_time``, by default a few hundred
times the clock's resolution and the cost of reading it) are batched: each sample times
``batch`` back-to-back calls and records the mean per call.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Timer = Callable[[], float]

# A call shorter than this many times the clock's floor (resolution or read cost) is timed in batches.
FLOORS_PER_SAMPLE = 200


@dataclass(frozen=True)
class BenchmarkResult:
    """Raw timings of one function, with the statistics computed from them (all in seconds)."""

    name: str
    times: tuple[float, ...]
    warmup_times: tuple[float, ...]
    cold_time: float
    batch: int = 1
    clock: str = "perf_counter"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("a benchmark result needs at least one timed repeat")

    @property
    def n_repeat(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def min(self) -> float:
        return float(np.min(self.times))

    @property
    def q1(self) -> float:
        return float(np.percentile(self.times, 25))

    @property
    def q3(self) -> float:
        return float(np.percentile(self.times, 75))

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median: 0.02 means the middle half lies within 2 %."""
        return self.iqr / self.median if self.median > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "times": list(self.times),
            "warmup_times": list(self.warmup_times),
            "cold_time": self.cold_time,
            "batch": self.batch,
            "clock": self.clock,
            "median": self.median,
            "min": self.min,
            "iqr": self.iqr,
            "spread": self.spread,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    def __str__(self) -> str:
        batched = f", {self.batch} calls per sample" if self.batch > 1 else ""
        return (
            f"{self.name}: median {format_seconds(self.median)}"
            f" (min {format_seconds(self.min)}, IQR {format_seconds(self.iqr)},"
            f" spread {100 * self.spread:.1f} %) over {self.n_repeat} repeats{batched};"
            f" cold call {format_seconds(self.cold_time)}, {len(self.warmup_times)} warm-up"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("median", format_seconds(self.median)),
            ("min", format_seconds(self.min)),
            ("interquartile range", format_seconds(self.iqr)),
            ("spread (IQR / median)", f"{100 * self.spread:.1f} %"),
            ("repeats", f"{self.n_repeat}" + (f" x {self.batch} calls" if self.batch > 1 else "")),
            ("cold (first) call", format_seconds(self.cold_time)),
            ("warm-up calls", str(len(self.warmup_times))),
            ("clock", self.clock),
        ]
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>{html.escape(self.name)}</caption>{body}</table>"


def format_seconds(seconds: float) -> str:
    """1.23e-5 -> '12.3 us'; keeps three significant figures."""
    if not math.isfinite(seconds):
        return str(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds} s"


def clock_floor(timer: Timer = time.perf_counter, samples: int = 200) -> float:
    """The smallest interval worth timing: the larger of the clock's resolution and its read cost."""
    resolution = time.get_clock_info("perf_counter").resolution if timer is time.perf_counter else 0.0
    costs = []
    for _ in range(samples):
        t0 = timer()
        t1 = timer()
        costs.append(t1 - t0)
    return max(resolution, float(np.median(costs)))


def benchmark(
    func: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    n_repeat: int = 10,
    n_warmup: int = 1,
    max_duration: float = math.inf,
    sync: Callable[[], Any] | str | None = None,
    name: str | None = None,
    min_time: float | None = None,
    cold_time: float | None = None,
    timer: Timer = time.perf_counter,
) -> BenchmarkResult:
    """Time ``func(*args, **kwargs)``: one cold call, ``n_warmup`` warm-ups, then the repeats.

    ``cold_time`` is the time of a first call the caller already made (the correctness check
    that also compiled the function); when given, no further call is treated as cold.

    ``n_repeat`` bounds the repeats and ``max_duration`` (seconds) the time spent repeating;
    at least one repeat is always taken. ``sync`` is called after each timed call (or batch)
    inside the timed region, for work that returns before it finishes; ``sync="cuda"`` times
    the repeats with ``cupyx.profiler.benchmark`` instead. ``timer`` is injectable for tests.
    """
    if n_repeat < 1:
        raise ValueError("n_repeat must be at least 1")
    if n_warmup < 0:
        raise ValueError("n_warmup must be zero or more")
    kwargs = dict(kwargs or {})
    name = name or getattr(func, "__name__", "function")
    if sync == "cuda":
        return _benchmark_cuda(func, args, kwargs, n_repeat, n_warmup, max_duration, name, cold_time, timer)
    if isinstance(sync, str):
        raise ValueError(f"sync must be a callable, None or 'cuda', not {sync!r}")

    def timed(calls: int) -> float:
        t0 = timer()
        for _ in range(calls):
            func(*args, **kwargs)
        if sync is not None:
            sync()
        return (timer() - t0) / calls

    cold = timed(1) if cold_time is None else cold_time
    warmups = [timed(1) for _ in range(n_warmup)]
    floor = min_time if min_time is not None else FLOORS_PER_SAMPLE * clock_floor(timer)
    estimate = min(warmups) if warmups else cold
    batch = 1 if estimate >= floor else min(10**6, math.ceil(floor / max(estimate, floor * 1e-6)))

    times: list[float] = []
    started = timer()
    while len(times) < n_repeat:
        times.append(timed(batch))
        if timer() - started >= max_duration:
            break
    return BenchmarkResult(name, tuple(times), tuple(warmups), cold, batch=batch)


def _benchmark_cuda(func, args, kwargs, n_repeat, n_warmup, max_duration, name, cold_time, timer):
    import cupy
    from cupyx.profiler import benchmark as cupy_benchmark

    device = cupy.cuda.Device()
    cold = cold_time
    if cold is None:
        t0 = timer()
        func(*args, **kwargs)
        device.synchronize()
        cold = timer() - t0
    perf = cupy_benchmark(func, args, kwargs, n_repeat=n_repeat, n_warmup=n_warmup, max_duration=max_duration)
    gpu_times = tuple(float(t) for t in np.asarray(perf.gpu_times)[0])
    return BenchmarkResult(
        name,
        gpu_times,
        (),
        cold,
        clock="CUDA events (cupyx.profiler.benchmark)",
        extra={"cpu_times": [float(t) for t in perf.cpu_times], "gpu": device.id},
    )
