"""Measuring in a lab: every realisation checked, then timed through :mod:`haiend.bench`.

Nothing here times anything by itself: a lab's measurement is ``haiend bench``'s, at the lab's
size (``HAIEND_SIZE``), so the figures in a lab and on the command line are the same thing.
"""

from __future__ import annotations

import math
import shlex
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from haiend import bench, kernels, machine, records, sizes, tables, threads
from haiend import ceilings as ceilings_mod
from haiend.errors import HaiendError
from haiend.grading import is_stub
from haiend.kernels import TIMING, Kernel
from haiend.lab.show import show


def _kernel(kernel: Kernel | str) -> Kernel:
    return kernels.get(kernel) if isinstance(kernel, str) else kernel


def size_for(kernel: Kernel | str, info: dict[str, Any] | None = None) -> tuple[int, ...]:
    """The size a lab runs: the quick size unless ``HAIEND_SIZE=full``, then the machine's default."""
    return sizes.for_kernel(_kernel(kernel), info)


def check_all(
    kernel: Kernel | str, inputs: Sequence[Any] | None = None, *, display: bool = True
) -> list[dict[str, str]]:
    """Call every variant once on ``inputs`` and compare it with the reference.

    Returns one row per variant: ``variant``, ``runs here`` ("yes"/"no") and ``check`` (the
    check's verdict, or the one-sentence reason a variant cannot run here).
    """
    kernel = _kernel(kernel)
    inputs = tuple(inputs) if inputs is not None else kernel.make_inputs(size_for(kernel))
    expected = kernel.reference(*inputs)
    rows = []
    for name, variant in kernel.variants.items():
        availability = variant.available()
        if not availability:
            rows.append({"variant": name, "runs here": "no", "check": availability.reason})
            continue
        check = kernel.check(variant(*inputs), expected)
        rows.append({"variant": name, "runs here": "yes", "check": str(check)})
    if display:  # the variants that cannot run here: one line per reason under the table
        first = next((x for x in inputs if hasattr(x, "shape")), None)
        shape = kernel.size_label(first.shape) if first is not None else ""
        show(
            [{"variant": r["variant"], "check": r["check"]} for r in rows if r["runs here"] == "yes"],
            f"{kernel.name}: every realisation against the reference, n = {shape}",
            tables.not_run_notes((r["variant"], r["check"]) for r in rows if r["runs here"] == "no"),
        )
    return rows


def measure(
    name: str,
    *,
    variants: Sequence[str] | None = None,
    size: str | Sequence[int] | None = None,
    threads_: int | None = None,
    ceilings: ceilings_mod.Ceilings | None = None,
    repeat: int = TIMING.repeat,
    max_duration: float = TIMING.lab_max_duration_s,
    save: bool = True,
) -> list[bench.Outcome]:
    """:func:`haiend.bench.run` at the lab's size (``HAIEND_SIZE``), records saved; returns outcomes."""
    return bench.run(
        name,
        variants=variants,
        size=size,
        quick=sizes.quick(),
        threads_=threads_,
        repeat=repeat,
        max_duration=max_duration,
        ceilings=ceilings,
        save=save,
    )


def find(
    outcomes: Iterable[bench.Outcome], kernel: str, variant: str, threads_: int | None = None
) -> bench.Outcome | None:
    """The measured outcome of ``kernel``/``variant`` (and thread count, if given), else None."""
    for o in outcomes:
        same = o.kernel == kernel and o.variant == variant and o.status == "measured"
        if same and (threads_ is None or o.record.threads * o.record.ranks == threads_):
            return o
    return None


def ratio(
    outcomes: Iterable[bench.Outcome], kernel: str, variant: str, against: str, *, best: bool = False
) -> float:
    """How fast ``variant`` ran relative to ``against`` for the same work (>1: faster); NaN if either is missing.

    Median times by default; ``best=True`` compares the fastest repeats (best of N).
    """
    outcomes = list(outcomes)
    a, b = find(outcomes, kernel, variant), find(outcomes, kernel, against)
    if a is None or b is None:
        return math.nan
    pick = (lambda o: o.timing.min) if best else (lambda o: o.timing.median)
    return pick(b) / pick(a)


def unavailable(kernel: Kernel | str, variant: str) -> str | None:
    """None if ``variant`` runs here; else print and return the one sentence saying what is missing."""
    availability = _kernel(kernel).variants[variant].available()
    if availability:
        return None
    print(f"{variant}: not run here, because {availability.reason}")
    return availability.reason


def measure_function(
    kernel: Kernel | str,
    func: Callable[..., Any],
    *,
    name: str | None = None,
    summary: str = "",
    parallel: bool = False,
    size: Sequence[int] | None = None,
    threads_: int | None = None,
    ceilings: ceilings_mod.Ceilings | None = None,
    repeat: int = TIMING.repeat,
    max_duration: float = TIMING.lab_max_duration_s,
    save: bool = True,
    details: dict[str, Any] | None = None,
) -> bench.Outcome:
    """Check and time a function written in the notebook exactly as ``haiend.bench`` times a variant.

    The outcome's record is saved with the others (``save=False`` to keep it out), so a learner's
    variant sits beside the kernel's own in ``haiend report``; it can go into
    :func:`haiend.lab.show_table` and the plots with the rest. ``details`` go into the record
    (what distinguishes this build: ``{"vector_bits": 256}``), so findings can select it.
    """
    kernel = _kernel(kernel)
    name = name or getattr(func, "__name__", "mine")
    if is_stub(func):
        return bench.Outcome(kernel.name, name, (), "skipped", f"{name} is still `...`")
    variant = kernels.written_in_notebook(kernel, func, name, summary, parallel=parallel, details=details)
    with_mine = replace(kernel, variants={**kernel.variants, name: variant})
    info = machine.describe()
    chosen = bench.resolve_size(kernel, size, quick=sizes.quick(), info=info)
    inputs = kernel.make_inputs(chosen)
    # bench's per-variant step, so a notebook function is checked and timed like the rest.
    outcome = bench.run_variant(
        with_mine,
        name,
        chosen,
        inputs,
        kernel.reference(*inputs),
        n_threads=threads_ if threads_ is not None else threads.available(),
        repeat=repeat,
        warmup=TIMING.warmup,
        max_duration=max_duration,
        ceilings=ceilings,
        info=info,
    )
    if save and outcome.record is not None:
        records.save(outcome.record)
    return outcome


def mpi_bench(
    kernel: str,
    ranks: int = 2,
    variants: str = "mpi",
    *,
    size: Sequence[int] | None = None,
    timeout: float = 120.0,
    extra_args: Sequence[str] = (),
) -> tuple[str, list[bench.Outcome] | str]:
    """Run ``haiend bench`` under ``mpiexec -n ranks`` at quick size (or ``size``); rank 0 saves the records.

    ``extra_args`` go to ``haiend bench`` as they are (``["--threads", "1"]``, so that the
    ranks' BLAS libraries do not start threads on cores the other ranks use).

    Returns the command a learner would type and either the outcomes (with their records, for
    :func:`haiend.lab.show_table`) or one sentence on why it did not run (no mpiexec, or the run
    failed).
    """
    args = ["--variants", variants, *extra_args]
    args += ["--size", "x".join(str(int(v)) for v in size)] if size is not None else []
    shown = f"mpiexec -n {ranks} python -m haiend bench {kernel} {shlex.join(args)}"
    try:
        ran = bench.under_mpiexec(kernel, ranks, [*args, "--quick"], timeout=timeout)
    except subprocess.TimeoutExpired:
        return shown, f"{shown} did not finish within {timeout:.0f} s."
    except HaiendError as failed:
        return shown, str(failed)
    if ran is None:
        return shown, "no mpiexec was found: pip install mpi4py mpich, then run the command above."
    return shown, ran[0]
