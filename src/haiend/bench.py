"""Check, time and record a kernel's realisations: what ``haiend bench`` and the labs run.

For each variant, in order: skip it with its reason if it cannot run here; call it once and
compare the result with the reference (this first call, which also compiles, is the cold
time); time it only if it is correct; derive GB/s, GFLOP/s and the fraction of this machine's
roof; keep a :class:`haiend.records.Record`. Under ``mpiexec`` every rank takes part in every
call, and only rank 0 prints and writes records.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from haiend import __version__, energy, kernels, machine, mpi, records, threads
from haiend.ceilings import Ceilings
from haiend.errors import HaiendError
from haiend.kernels import TIMING, Check, Kernel
from haiend.roofline import Roof
from haiend.timing import BenchmarkResult, benchmark

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one variant: skipped (with why), wrong (with the check), or measured."""

    kernel: str
    variant: str
    size: tuple[int, ...]
    status: str  # "measured", "skipped" or "wrong"
    reason: str = ""
    check: Check | None = None
    timing: BenchmarkResult | None = None
    record: records.Record | None = None
    baseline_ratio: float | None = None  # baseline time / this time, for the same work

    @property
    def gb_per_s(self) -> float | None:
        return self.record.gb_per_s if self.record else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): what ``haiend bench --json`` prints and :meth:`from_dict` reads back.

        The record leaves out the machine fingerprint, which the reader has already.
        """
        record = self.record.to_dict(derived=True) if self.record is not None else None
        if record is not None:
            record.pop("machine")
        return {
            "kernel": self.kernel,
            "variant": self.variant,
            "size": list(self.size),
            "status": self.status,
            "reason": self.reason,
            "baseline_ratio": self.baseline_ratio,
            "record": record,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], machine_info: dict[str, Any] | None = None) -> Outcome:
        """An outcome from :meth:`to_dict` (another process's, an MPI job's), its record rebuilt."""
        record = data.get("record")
        if record is None:
            return cls(
                data["kernel"], data["variant"], tuple(data["size"]), data["status"], data.get("reason", "")
            )
        return cls.from_record(
            records.Record.from_dict(
                {"machine": machine_info or {"machine_id": record["machine_id"]}, **record}
            ),
            data.get("baseline_ratio"),
        )

    @classmethod
    def from_record(cls, record: records.Record, baseline_ratio: float | None = None) -> Outcome:
        """The outcome a stored record describes (a measured, correct variant)."""
        timing = BenchmarkResult(
            name=f"{record.kernel}/{record.variant}",
            times=tuple(record.times),
            warmup_times=tuple(record.warmup_times),
            cold_time=record.cold_time,
            batch=record.batch,
            clock=record.clock,
        )
        return cls(
            record.kernel,
            record.variant,
            tuple(record.size),
            "measured",
            check=Check(record.error, record.tolerance),
            timing=timing,
            record=record,
            baseline_ratio=baseline_ratio,
        )

    @property
    def gflop_per_s(self) -> float | None:
        return self.record.gflop_per_s if self.record else None


def resolve_size(
    kernel: Kernel, size: str | Sequence[int] | None, *, quick: bool, info: dict[str, Any]
) -> tuple[int, ...]:
    """The size to run: given, quick, or the kernel's default for this machine; checked against free memory."""
    if size is None:
        chosen = kernel.quick_size if quick else kernel.default_size(info)
    elif isinstance(size, str):
        chosen = kernel.parse_size(size)
    else:
        chosen = kernel.parse_size("x".join(str(int(v)) for v in size))
    need = 2 * kernel.footprint(chosen)  # inputs and output, plus the reference's copy
    free = info.get("memory_available_bytes")
    if free and need > free:
        raise HaiendError(
            f"size {kernel.size_label(chosen)} of {kernel.name} needs about {need / 2**30:.1f} GiB"
            f" but only {free / 2**30:.1f} GiB of memory is free: choose a smaller --size."
        )
    return chosen


def run(
    name: str,
    *,
    variants: Sequence[str] | None = None,
    size: str | Sequence[int] | None = None,
    quick: bool = False,
    threads_: int | None = None,
    repeat: int = TIMING.repeat,
    warmup: int = TIMING.warmup,
    max_duration: float = TIMING.max_duration_s,
    ceilings: Ceilings | Callable[[], Ceilings | None] | None = None,
    save: bool = True,
    results_dir: str | None = None,
    progress: Progress | None = None,
    info: dict[str, Any] | None = None,
    command: str | None = None,
) -> list[Outcome]:
    """Run every requested variant of kernel (or group) ``name``; returns one Outcome per variant.

    Everything the caller gave is validated first (kernel, variants, size, threads, results
    folder); only then is ``ceilings`` called, if it is a function, and anything measured.
    """
    chosen_kernels = kernels.group(name)
    info = info or machine.describe()
    n_threads = threads_ if threads_ is not None else threads.available()
    if n_threads < 1:
        raise HaiendError(f"--threads must be at least 1, not {n_threads}.")
    for kernel in chosen_kernels:
        unknown = [v for v in variants or () if v not in kernel.variants]
        if unknown:
            raise HaiendError(
                f"{kernel.name} has no variant {unknown[0]!r}: choose from {', '.join(kernel.variants)}."
            )
    sizes = {k.name: resolve_size(k, size, quick=quick, info=info) for k in chosen_kernels}
    if save:
        records.ensure_writable(records.results_dir(results_dir))
    energy.site()  # a bad site profile ($HAIEND_SITE_PROFILE) stops the run before anything is measured
    root = mpi.is_root() if mpi.launched_by_mpiexec() else True
    say = progress if (progress is not None and root) else (lambda message: None)
    if callable(ceilings):
        ceilings = ceilings()
    context = records.run_context(command)

    outcomes: list[Outcome] = []
    for kernel in chosen_kernels:
        kernel_outcomes = []
        names = list(variants) if variants else list(kernel.variants)
        inputs = kernel.make_inputs(sizes[kernel.name])
        expected = kernel.reference(*inputs)
        for position, variant_name in enumerate(names, 1):
            say(f"[{kernel.name} {position}/{len(names)}] {variant_name}")
            outcome = run_variant(
                kernel,
                variant_name,
                sizes[kernel.name],
                inputs,
                expected,
                n_threads=n_threads,
                repeat=repeat,
                warmup=warmup,
                max_duration=max_duration,
                ceilings=ceilings,
                info=info,
                say=say,
                run=context,
            )
            kernel_outcomes.append(outcome)
        footprint = kernel.footprint(sizes[kernel.name])
        kernel_outcomes = _with_baseline(
            kernel,
            kernel_outcomes,
            lambda spec, threads_used, footprint=footprint: _measure_baseline(
                spec, footprint, threads_used, repeat, info
            ),
        )
        if save and root:
            for outcome in kernel_outcomes:
                if outcome.record is not None:
                    records.save(outcome.record, results_dir)
        outcomes.extend(kernel_outcomes)
    return outcomes


def run_variant(
    kernel: Kernel,
    variant_name: str,
    size: tuple[int, ...],
    inputs: Sequence[Any],
    expected: Any,
    *,
    n_threads: int,
    repeat: int = TIMING.repeat,
    warmup: int = TIMING.warmup,
    max_duration: float = TIMING.max_duration_s,
    ceilings: Ceilings | None = None,
    info: dict[str, Any] | None = None,
    say: Progress | None = None,
    run: dict[str, Any] | None = None,
) -> Outcome:
    """Check one variant against ``expected``, and time it only if it is correct (no saving).

    ``run`` calls this for each variant; labs call it for a variant written in the notebook
    (a Variant added to a copy of the kernel with ``dataclasses.replace``).
    """
    info = info or machine.describe()
    say = say or (lambda message: None)
    variant = kernel.variants[variant_name]
    availability = variant.available()
    if not availability:
        say(f"  skipped: {availability.reason}")
        return Outcome(kernel.name, variant_name, size, "skipped", availability.reason)
    over_ranks = variant.spreads == "ranks"
    under_mpi = over_ranks and mpi.launched_by_mpiexec()
    used_threads, ranks = variant.uses(n_threads, mpi.world().Get_size() if over_ranks else 1)
    with threads.limit(n_threads):
        prepared = variant.prepare(inputs)
        cold_start = time.perf_counter()
        prepared.call()
        if prepared.sync is not None:
            prepared.sync()
        cold = time.perf_counter() - cold_start
        result = prepared.result()
        check = kernel.check(result, expected)
        passed = check.passed
        if under_mpi:  # rank 0 alone holds the whole result: it decides for every rank
            passed = mpi.world().bcast(passed if mpi.is_root() else None, root=0)
        say(f"  {check}")
        if not passed:
            return Outcome(kernel.name, variant_name, size, "wrong", str(check), check=check)
        with energy.meter(variant.device, info, energy.site().overrides) as metered:
            timing = benchmark(
                prepared.call,
                n_repeat=repeat,
                n_warmup=warmup,
                max_duration=math.inf if under_mpi else max_duration,
                min_time=0.0 if under_mpi else None,  # every rank must make the same calls
                sync="cuda" if (variant.device == "gpu" and prepared.sync is not None) else prepared.sync,
                cold_time=cold,
                name=f"{kernel.name}/{variant_name}",
            )
    dtype = str(getattr(result, "dtype", "float64"))
    roof = _roof_for(variant, ceilings, used_threads * ranks, dtype, kernel.footprint(size))
    record = records.Record(
        kernel=kernel.name,
        variant=variant_name,
        size=list(size),
        dtype=dtype,
        threads=used_threads,
        ranks=ranks,
        times=list(timing.times),
        warmup_times=list(timing.warmup_times),
        cold_time=timing.cold_time,
        batch=timing.batch,
        clock=timing.clock,
        extra_times={k: list(v) for k, v in timing.extra.items() if isinstance(v, (list, tuple))},
        bytes_moved=kernel.bytes_moved(size),
        flops=kernel.flops(size),
        roof=_roof_dict(roof),
        error=check.error,
        tolerance=check.tolerance,
        machine_id=info["machine_id"],
        machine=info,
        details={
            "summary": variant.summary,
            "device": variant.device,
            "kind": variant.kind.name,
            **{k: v for k, v in timing.extra.items() if not isinstance(v, (list, tuple))},
            **dict(variant.details),
            **_compiled_with(variant),
        },
        run=run or records.run_context(),
        energy=energy.record_entry(
            metered.reading, calls=_calls(timing), device=variant.device, info=info, ranks=ranks
        ),
        haiend_version=__version__,
    )
    say(f"  {timing}; {record.gb_per_s:.2f} GB/s, {record.gflop_per_s:.2f} GFLOP/s")
    return Outcome(kernel.name, variant_name, size, "measured", check=check, timing=timing, record=record)


def _compiled_with(variant) -> dict[str, str]:
    """A C variant's record names the flags it was compiled with ($HAIEND_CFLAGS or the defaults):
    the same source is another program under other flags (haiend.sweep varies its blocks so)."""
    if variant.kind.name != "c":
        return {}
    from haiend import cbuild

    return {"cflags": " ".join(cbuild.default_flags())}


def _calls(timing: BenchmarkResult) -> int:
    """The calls inside the metered window: the warm-ups and every repeat's batch."""
    return len(timing.warmup_times) + len(timing.times) * timing.batch


def _roof_for(
    variant, ceilings: Ceilings | None, n_threads: int, dtype: str, footprint: float
) -> Roof | None:
    """The roof a result is judged by: this many threads, this dtype, and the bandwidth of the
    level of the memory hierarchy that the kernel's data fits in (memory, or a cache)."""
    if ceilings is None or variant.device != "cpu":
        return None  # a CPU roof says nothing about a GPU; GPU roofs are measured on a GPU
    return ceilings.roof(n_threads, dtype, footprint=footprint)


def _roof_dict(roof: Roof | None) -> dict[str, Any]:
    if roof is None:
        return {}
    return {
        "bandwidth": roof.bandwidth,
        "peak": roof.peak,
        "threads": roof.threads,
        "bandwidth_source": roof.bandwidth_source,
        "peak_source": roof.peak_source,
        "level": roof.level,
    }


def _measure_baseline(spec: str, footprint: float, n_threads: int, repeat: int, info) -> Outcome | None:
    """Measure another kernel's variant ("stream.triad:c") in this run, to compare bandwidths.

    It runs on the same amount of data as the kernel it judges (so both stream from the same
    level of the memory hierarchy) and with the same number of threads.
    """
    other, variant = spec.split(":")
    other_kernel = kernels.get(other)
    n = max(other_kernel.quick_size[0], int(footprint // (other_kernel.footprint((1,)) or 1)))
    outcomes = run(
        other, variants=[variant], size=(n,), threads_=n_threads, repeat=repeat, save=False, info=info
    )
    return outcomes[0] if outcomes and outcomes[0].status == "measured" else None


def _with_baseline(kernel: Kernel, outcomes: list[Outcome], measure_other) -> list[Outcome]:
    """Add each measured variant's speed relative to the kernel's baseline, measured in this run.

    Against a variant of the same kernel the ratio is of times (same work); against another
    kernel ("stream.triad:c") it is of bandwidths, as the stencil is judged against STREAM,
    measured once for each thread count the variants used.
    """
    measured = [o for o in outcomes if o.status == "measured"]
    if kernel.baseline is None or not measured:
        return outcomes
    if ":" in kernel.baseline:
        bases: dict[int, Outcome | None] = {}

        def ratio(o: Outcome) -> float | None:
            used = o.record.threads * o.record.ranks
            if used not in bases:
                bases[used] = measure_other(kernel.baseline, used)
            base = bases[used]
            return o.record.gb_per_s / base.record.gb_per_s if base else None

    else:
        base = next((o for o in measured if o.variant == kernel.baseline), None)
        if base is None:
            return outcomes

        def ratio(o: Outcome) -> float | None:
            return base.timing.median / o.timing.median

    return [replace(o, baseline_ratio=ratio(o)) if o.status == "measured" else o for o in outcomes]


def under_mpiexec(
    kernel: str, ranks: int, args: Sequence[str] = (), *, timeout: float = 120.0
) -> tuple[list[Outcome], str] | None:
    """``haiend bench KERNEL *args`` under ``mpiexec -n ranks``: rank 0's outcomes, and the progress.

    The outcomes carry their records (read from the JSON that rank 0 prints), so they show and
    plot like any others. None when no mpiexec is found; :class:`HaiendError` with the job's last
    line when it fails; ``subprocess.TimeoutExpired`` after ``timeout`` seconds.
    """
    import json

    done = mpi.launch("haiend", ranks, ["bench", kernel, *args, "--json"], timeout=timeout)
    if done is None:
        return None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise HaiendError(f"the run under mpiexec failed with exit status {done.returncode}: {last}")
    info = machine.describe()
    return [Outcome.from_dict(item, info) for item in json.loads(done.stdout)], done.stderr
