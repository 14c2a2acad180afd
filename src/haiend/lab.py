"""What a lab notebook needs, in one place, so that the labs do not repeat it.

A lab shows the machine and its ceilings, checks every realisation before timing any, measures
through :func:`haiend.bench.run`, shows tables, and glues the numbers its prose quotes::

    from haiend import lab
    info = lab.show_machine()
    roofs = lab.show_ceilings()                        # measured once per machine, then cached
    lab.check_all("stream.triad")                       # correct before fast
    outcomes = lab.measure("stream", ceilings=roofs)    # saved as records, returned as outcomes
    lab.show_table(outcomes)
    lab.glue_value("triad_c_gbs", lab.find(outcomes, "stream.triad", "c").gb_per_s)

Sizes follow ``HAIEND_SIZE`` (:mod:`haiend.sizes`): the kernel's quick size by default, the
machine's default size when ``HAIEND_SIZE=full``. Tables are objects that show as HTML in a
notebook and as plain text elsewhere. Nothing here measures or plots by itself: timing is
:mod:`haiend.bench`, plots are :mod:`haiend.plotting`, machine facts are :mod:`haiend.machine`.
"""

from __future__ import annotations

import ast
import html
import inspect
import json
import math
import shlex
import subprocess
import textwrap
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from haiend import bench, kernels, machine, mpi, sizes, threads
from haiend import ceilings as ceilings_mod
from haiend.kernels import Check, Kernel, PreparedCall, Variant


class Table:
    """Rows of strings: HTML in a notebook, aligned text in a terminal or a test."""

    def __init__(self, rows: Sequence[dict[str, Any]], caption: str = "") -> None:
        self.rows = [{k: str(v) for k, v in row.items()} for row in rows]
        self.caption = caption
        self.columns = list(dict.fromkeys(key for row in self.rows for key in row))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(row.get(c, ''))}</td>" for c in self.columns) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        widths = {c: max(len(c), *(len(row.get(c, "")) for row in self.rows)) for c in self.columns}
        lines = [self.caption] if self.caption else []
        lines.append("  ".join(c.ljust(widths[c]) for c in self.columns).rstrip())
        lines += [
            "  ".join(row.get(c, "").ljust(widths[c]) for c in self.columns).rstrip() for row in self.rows
        ]
        return "\n".join(lines)


def show(rows: Sequence[dict[str, Any]], caption: str = "") -> None:
    """Display rows as a table (HTML in a notebook, text elsewhere)."""
    _display(Table(rows, caption))


def _display(obj: Any) -> None:
    try:
        from IPython.display import display
    except ImportError:
        print(repr(obj))
        return
    display(obj)


def _kernel(kernel: Kernel | str) -> Kernel:
    return kernels.get(kernel) if isinstance(kernel, str) else kernel


def size_for(kernel: Kernel | str, info: dict[str, Any] | None = None) -> tuple[int, ...]:
    """The size a lab runs: the quick size unless ``HAIEND_SIZE=full``, then the machine's default."""
    kernel = _kernel(kernel)
    return kernel.quick_size if sizes.quick() else kernel.default_size(info or machine.describe())


def show_machine(info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Show the fingerprint summary (what a reader needs to interpret a figure); return it all."""
    info = info or machine.describe()
    show([{"": key, "this machine": value} for key, value in machine.summary(info)], "This machine")
    return info


def show_ceilings(roofs: ceilings_mod.Ceilings | None = None) -> ceilings_mod.Ceilings:
    """Show the measured roofs (measured at full size the first time, ~a minute, then cached)."""
    roofs = roofs or ceilings_mod.get()
    rows = [
        {
            "threads": str(n),
            "bandwidth GB/s": f"{roof.bandwidth / 1e9:.1f}",
            "peak GFLOP/s": f"{roof.peak / 1e9:.1f}",
            "ridge flop/byte": f"{roof.ridge:.2f}",
            "measured by": f"{roof.bandwidth_source}; {roof.peak_source}",
        }
        for n, roof in sorted(roofs.roofs.items())
    ]
    quick = ", quick sizes" if roofs.quick else ""
    show(rows, f"Ceilings of {roofs.machine_id} (measured {roofs.measured_at[:19]}{quick})")
    return roofs


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
    if display:
        show(
            rows,
            f"{kernel.name}: every realisation against the reference, n = {kernel.size_label(_size_of(inputs))}",
        )
    return rows


def _size_of(inputs: Sequence[Any]) -> tuple[int, ...]:
    first = next((x for x in inputs if hasattr(x, "shape")), None)
    return tuple(first.shape) if first is not None else ()


def measure(
    name: str,
    *,
    variants: Sequence[str] | None = None,
    size: str | Sequence[int] | None = None,
    threads_: int | None = None,
    ceilings: ceilings_mod.Ceilings | None = None,
    repeat: int = 10,
    max_duration: float = 5.0,
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


def show_table(outcomes: Sequence[bench.Outcome], caption: str = "") -> None:
    """Show the outcomes as :func:`haiend.bench.table` lays them out."""
    show(bench.table(outcomes), caption)


def find(
    outcomes: Iterable[bench.Outcome], kernel: str, variant: str, threads_: int | None = None
) -> bench.Outcome | None:
    """The measured outcome of ``kernel``/``variant`` (and thread count, if given), else None."""
    for o in outcomes:
        same = o.kernel == kernel and o.variant == variant and o.status == "measured"
        if same and (threads_ is None or o.record.threads * o.record.ranks == threads_):
            return o
    return None


def glue_value(name: str, value: Any) -> Any:
    """Glue ``value`` for the prose (``{glue:text}`name:.2f```) when myst_nb is present; return it.

    NumPy scalars become Python numbers first: NumPy 2 shows them as ``np.float64(...)``, which
    a format spec in the markdown cannot read.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    try:
        from myst_nb import glue
    except ImportError:
        return value
    glue(name, value, display=False)
    return value


def unavailable(kernel: Kernel | str, variant: str) -> str | None:
    """None if ``variant`` runs here; else print and return the one sentence saying what is missing."""
    availability = _kernel(kernel).variants[variant].available()
    if availability:
        return None
    print(f"{variant}: not run here, because {availability.reason}")
    return availability.reason


def is_stub(func: Callable[..., Any]) -> bool:
    """True while a function's body is still only ``...`` (and perhaps a docstring)."""
    func = getattr(func, "py_func", func)  # a Numba dispatcher keeps the Python function
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    definition = next(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    if definition is None:
        return False
    body = [
        n
        for n in definition.body
        if not (
            isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
        )
    ]
    return all(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and n.value.value is Ellipsis
        for n in body
    )


def check_exercise(
    kernel: Kernel | str, func: Callable[..., Any], inputs: Sequence[Any] | None = None
) -> Check | None:
    """Check a learner's ``func(*inputs, out)`` against the reference; prints the verdict.

    Returns None (and says so) while the function is still ``...``, so that a student copy
    runs to the end before the exercise is done.
    """
    kernel = _kernel(kernel)
    name = getattr(func, "__name__", "your function")
    if is_stub(func):
        print(
            f"{name} is still `...`: write its body in the exercise cell, run it, then run this cell again."
        )
        return None
    inputs = tuple(inputs) if inputs is not None else kernel.make_inputs(size_for(kernel))
    result = _returning_variant(kernel, name, func, "")(*inputs)
    check = kernel.check(result, kernel.reference(*inputs))
    print(f"{name}: {check}")
    return check


def _returning_variant(
    kernel: Kernel, name: str, func: Callable[..., Any], summary: str, parallel: bool = False
) -> Variant:
    """A variant for ``func(*inputs, out)`` whose result is what ``func`` returns.

    A function that allocates its result (``return b + s * c``) is judged, and timed, as it is.
    """

    def prepare(variant: Variant, inputs: Sequence[Any]) -> PreparedCall:
        out = kernel.allocate_output(*inputs)
        last: list[Any] = [out]

        def call() -> None:
            last[0] = func(*inputs, out)

        return PreparedCall(call=call, result=lambda: last[0])

    return Variant(
        name,
        func,
        summary or f"{name} (written in this notebook)",
        parallel=parallel,
        preparer=prepare,
        kernel=kernel,
    )


def recompiled(dispatcher: Any, **names: Any) -> Any:
    """A new ``@njit`` dispatcher of ``dispatcher``'s Python function, nothing compiled yet.

    Numba reads module-level names (constants, other jitted functions) once, when it compiles;
    ``names`` replaces some of them in the copy, so ``recompiled(f, VECTOR_BITS=256)`` is ``f``
    built as if its module said so. The original dispatcher is untouched.
    """
    from numba import njit

    function = dispatcher.py_func
    rebound = types.FunctionType(
        function.__code__, {**function.__globals__, **names}, function.__name__, function.__defaults__
    )
    options = {key: value for key, value in dispatcher.targetoptions.items() if key != "nopython"}  # njit's own
    return njit(**options)(rebound)


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
    repeat: int = 10,
    max_duration: float = 5.0,
) -> bench.Outcome:
    """Check and time a function written in the notebook exactly as ``haiend.bench`` times a variant.

    The outcome (not saved as a record) can go into :func:`show_table` and the plots with the rest.
    """
    kernel = _kernel(kernel)
    name = name or getattr(func, "__name__", "mine")
    if is_stub(func):
        return bench.Outcome(kernel.name, name, (), "skipped", f"{name} is still `...`")
    variant = _returning_variant(kernel, name, func, summary, parallel)
    with_mine = replace(kernel, variants={**kernel.variants, name: variant})
    info = machine.describe()
    chosen = bench.resolve_size(kernel, size, quick=sizes.quick(), info=info)
    inputs = kernel.make_inputs(chosen)
    # bench's per-variant step, so a notebook function is checked and timed like the rest.
    return bench.run_variant(
        with_mine,
        name,
        chosen,
        inputs,
        kernel.reference(*inputs),
        n_threads=threads_ if threads_ is not None else threads.available(),
        repeat=repeat,
        warmup=1,
        max_duration=max_duration,
        ceilings=ceilings,
        info=info,
    )


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


def mpi_bench(
    kernel: str,
    ranks: int = 2,
    variants: str = "mpi",
    *,
    timeout: float = 120.0,
    extra_args: Sequence[str] = (),
) -> tuple[str, list[dict[str, str]] | str]:
    """Run ``haiend bench`` under ``mpiexec -n ranks`` at quick size, nothing saved.

    ``extra_args`` go to ``haiend bench`` as they are (``["--threads", "1"]``, so that the
    ranks' BLAS libraries do not start threads on cores the other ranks use).

    Returns the command a learner would type and either the result rows or one sentence on why
    it did not run (no mpiexec, or the run failed).
    """
    shown = f"mpiexec -n {ranks} python -m haiend bench {kernel} --variants {variants}"
    if extra_args:
        shown += " " + shlex.join(extra_args)
    args = ["--variants", variants, *extra_args, "--quick", "--no-save"]
    try:
        done = mpi.run_bench(kernel, ranks, args, timeout=timeout)
    except subprocess.TimeoutExpired:
        return shown, f"{shown} did not finish within {timeout:.0f} s."
    if done is None:
        return shown, "no mpiexec was found: pip install mpi4py mpich, then run the command above."
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return shown, f"the run failed with exit status {done.returncode}: {last}"
    rows = []
    for item in json.loads(done.stdout):
        record = item.get("record") or {}
        rows.append(
            {
                "kernel": item["kernel"],
                "variant": item["variant"],
                "size": "x".join(str(v) for v in item.get("size", ())),
                "ranks": str(record.get("ranks", "-")),
                "status": item["status"],
                "GB/s": f"{record['gb_per_s']:.2f}" if record else "-",
                "GFLOP/s": f"{record['gflop_per_s']:.2f}" if record else "-",
                "note": item.get("reason", ""),
            }
        )
    return shown, rows


def mpi_bench_at(
    kernel: str, size: Sequence[int], ranks: int = 2, variants: str = "mpi", *, timeout: float = 120.0
) -> tuple[str, list[dict[str, str]] | str]:
    """:func:`mpi_bench` at an explicit ``size`` (an awkward one, say), nothing saved."""
    label = "x".join(str(int(v)) for v in size)
    return mpi_bench(kernel, ranks, variants, timeout=timeout, extra_args=["--size", label])
