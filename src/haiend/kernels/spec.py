"""A kernel's specification, held as data: what the code measures and what the book prints.

A benchmark figure means something only against a written rule: what was computed, which work
was counted, how the time was taken and what a faster version was allowed to change. BabelStream
keeps such a table for its kernels (bytes moved, a gold-value check with a stated tolerance), and
the UKRI living benchmarks give every benchmark a specification document (figure of merit, sizes,
correctness rule, allowed modifications). Here each :class:`haiend.kernels.Kernel` carries a
:class:`Specification` (``kernel.spec``), and the kernel's cost model, tolerances, sizes and
baseline are read from it, so that the number the roofline uses and the formula the book shows
are the same text.

The counts of bytes and flops are arithmetic expressions over the size names (``"24 * n"``),
evaluated by a small evaluator that accepts numbers, the size names, ``+ - * / // **``,
parentheses, ``max`` and ``min``, and nothing else: a specification is data a reader can check
by eye, never code that runs. An expression outside that grammar is a ``ValueError`` naming the
kernel when its package is imported.

The timing rules are one :data:`TIMING` for every kernel; ``haiend bench`` and
:func:`haiend.bench.run` take their defaults from it.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from haiend.timing import FLOORS_PER_SAMPLE

Size = tuple[int, ...]

# The figures of merit a kernel may declare: the label printed, and what is divided by the time.
MERITS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"gb_per_s": ("GB/s", "bytes counted"), "gflop_per_s": ("GFLOP/s", "flops counted")}
)

CHECK_RULE = (
    "A result is correct when its normwise relative error, max |result - reference| / max |reference|"
    " over all elements, is at most the tolerance for its dtype. The reference is computed from the same"
    " inputs in float64 with NumPy, written to be obviously right rather than fast."
)

EVERY_KERNEL_MAY: tuple[str, ...] = (
    "change the loop order, blocking, tiling, unrolling and the order in which terms are summed",
    "use vectors of any width, threads, MPI ranks or a GPU, and any language, compiler, flags or"
    " library that computes the same result",
    "take block sizes, vector widths and thread or rank counts from the machine's fingerprint"
    " (haiend.tune), never from constants of the machine it was written on",
    "let the compiler fuse multiplies and adds or reassociate sums (-ffast-math, fastmath=True), as long"
    " as every check size stays within the tolerance",
)

EVERY_KERNEL_MUST_NOT: tuple[str, ...] = (
    "change what is computed or the work the counts assume: the counts belong to the specification,"
    " and a variant that does less work would report a rate it did not earn",
    "skip or weaken the correctness check, or pass it by returning anything but its own result",
    "reuse results across calls: every call computes its output from its inputs, with nothing cached"
    " and nothing computed in advance while the inputs are prepared",
    "time itself or move work outside the timed call: preparation only allocates the output, copies"
    " inputs to a device or splits them over ranks",
    "compute in a lower precision than the kernel's dtype (float32 in a float64 kernel, float16 or"
    " bfloat16 in a float32 one)",
    "rely on properties of the generated inputs that the formula does not state (their range, their"
    " seed, a scalar's value)",
)


@dataclass(frozen=True)
class Timing:
    """How every variant of every kernel is timed: the numbers ``haiend bench`` uses by default."""

    warmup: int = 1
    repeat: int = 10
    max_duration_s: float = 10.0
    lab_max_duration_s: float = 5.0  # the labs' cap, so that the book builds in reasonable time
    statistic: str = "median"

    def rules(self) -> tuple[str, ...]:
        """The rules as sentences, built from the numbers above so that text and code agree."""
        calls = "call" if self.warmup == 1 else "calls"
        return (
            "The first call is made alone: its result is checked against the reference, and its time,"
            " which includes any compilation, is reported apart as the cold time. A variant that fails"
            " the check is reported wrong and is not timed.",
            f"Then {self.warmup} warm-up {calls}, timed and kept in the record but not counted.",
            f"Then at most {self.repeat} timed repeats, ending early once {self.max_duration_s:g} s have"
            f" been spent repeating ({self.lab_max_duration_s:g} s in the labs); at least one repeat is"
            " always taken.",
            f"A call shorter than {FLOORS_PER_SAMPLE} times the clock's floor (its resolution or the cost"
            " of reading it) is timed in batches of back-to-back calls, each sample being the batch's mean"
            " per call. Under mpiexec there is no batching and no time cap: every rank makes the same calls.",
            "Only the computation is timed: inputs are made, the output allocated and its pages touched,"
            " and GPU inputs copied to the device beforehand; the result is copied back afterwards. GPU"
            " calls are timed with CUDA events (cupyx.profiler.benchmark).",
            f"The figure reported is the {self.statistic} of the timed repeats, with the minimum and the"
            " interquartile range beside it; every raw time is kept in the record.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"rules": list(self.rules())}


TIMING = Timing()


@dataclass(frozen=True)
class Tolerance:
    """The largest normwise relative error accepted for one dtype, and why that value."""

    value: float
    rationale: str


# ---------------------------------------------------------------------------------------------
# The evaluator of counts: arithmetic over the size names, and nothing else.

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"max": max, "min": min}


@functools.cache
def parse_count(expression: str, names: tuple[str, ...]) -> ast.expr:
    """The checked syntax tree of ``expression``; ValueError if it is anything but arithmetic on ``names``."""
    if not isinstance(expression, str):
        raise ValueError(f'a count is written as text, such as "24 * n", not {expression!r}')
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"{expression!r} is not an arithmetic expression ({exc.msg})") from None

    def check(node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return
        if isinstance(node, ast.Name) and node.id in names:
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            check(node.left)
            check(node.right)
            return
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            check(node.operand)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
            and len(node.args) >= 2
            and not any(isinstance(a, ast.Starred) for a in node.args)
        ):
            for argument in node.args:
                check(argument)
            return
        raise ValueError(
            f"{expression!r} may use only numbers, the size names ({', '.join(names)}),"
            f" + - * / // ** and parentheses, and max or min of two or more terms; not {ast.unparse(node)!r}"
        )

    check(tree)
    return tree


def evaluate_count(expression: str, names: Sequence[str], size: Sequence[int]) -> float:
    """``expression`` evaluated with each size name bound to its value in ``size``, as a float."""
    names = tuple(names)
    if len(size) != len(names):
        raise ValueError(f"a size of the form {'x'.join(names)} has {len(names)} values, not {len(size)}")
    values = dict(zip(names, (int(v) for v in size), strict=True))

    def value(node: ast.expr) -> int | float:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](value(node.operand))
        return _FUNCTIONS[node.func.id](*(value(a) for a in node.args))  # a checked call of max or min

    return float(value(parse_count(expression, names)))


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Specification:
    """What a kernel computes, how it is checked, counted and timed, and what a variant may change.

    Every field is plain data (text, numbers, expressions), so that :meth:`to_markdown` shows the
    whole of it and :meth:`to_dict` gives it as JSON. ``may`` and ``must_not`` hold what is
    particular to this kernel; :data:`EVERY_KERNEL_MAY` and :data:`EVERY_KERNEL_MUST_NOT` apply to
    every kernel and are shown with them.
    """

    name: str
    summary: str  # one line: what ``haiend list`` and the tables say
    formula: str
    inputs: str  # what make_inputs returns and how it is generated
    size_names: tuple[str, ...]
    quick_size: Size
    default_size_rule: str  # the rule in words; the function that applies it stays in the package
    tolerances: Mapping[str, Tolerance]
    merit: str  # "gb_per_s" or "gflop_per_s"
    bytes_counted: str  # an expression over size_names
    bytes_reason: str
    flops_counted: str
    flops_reason: str
    baseline: str | None  # a variant of this kernel, or "kernel:variant" of another one
    baseline_reason: str = ""
    computes: str = ""  # more on what is computed, beyond the formula
    merit_reason: str = ""
    check_sizes: tuple[Size, ...] = ()
    check_sizes_reason: str = ""
    may: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ValueError(f"the specification of kernel {self.name!r}: {message}")

        names = tuple(self.size_names)
        object.__setattr__(self, "size_names", names)
        if not names or len(set(names)) != len(names):
            fail(f"size_names must be distinct names, not {names!r}")
        for n in names:
            if not n.isidentifier() or n in _FUNCTIONS:
                fail(f"{n!r} cannot be a size name")

        def as_size(value: Any, what: str) -> Size:
            size = tuple(int(v) for v in value)
            if len(size) != len(names) or any(v <= 0 for v in size):
                fail(f"{what} {size!r} is not a positive size of the form {'x'.join(names)}")
            return size

        object.__setattr__(self, "quick_size", as_size(self.quick_size, "quick_size"))
        object.__setattr__(self, "check_sizes", tuple(as_size(s, "the check size") for s in self.check_sizes))
        object.__setattr__(self, "may", tuple(self.may))
        object.__setattr__(self, "must_not", tuple(self.must_not))
        if self.merit not in MERITS:
            fail(f"merit must be one of {', '.join(map(repr, MERITS))}, not {self.merit!r}")

        tolerances: dict[str, Tolerance] = {}
        for dtype, tolerance in dict(self.tolerances).items():
            if isinstance(tolerance, Mapping):
                tolerance = Tolerance(**tolerance)
            elif not isinstance(tolerance, Tolerance):
                tolerance = Tolerance(*tolerance)
            try:
                known = np.dtype(dtype).name == dtype
            except TypeError:
                known = False
            if not known:
                fail(f"{dtype!r} is not a NumPy dtype name (float64, float32 ...)")
            if (
                not (tolerance.value > 0 and math.isfinite(tolerance.value))
                or not tolerance.rationale.strip()
            ):
                fail(f"the tolerance for {dtype} needs a positive value and its rationale")
            tolerances[dtype] = tolerance
        if not tolerances:
            fail("it states no tolerance")
        object.__setattr__(self, "tolerances", MappingProxyType(tolerances))

        for label in ("bytes", "flops"):
            expression = getattr(self, f"{label}_counted")
            try:
                parse_count(expression, names)
                for size in (self.quick_size, *self.check_sizes):
                    counted = evaluate_count(expression, names, size)
                    if not (counted >= 0 and math.isfinite(counted)):
                        raise ValueError(f"{expression!r} gives {counted} at {'x'.join(map(str, size))}")
            except (ValueError, ArithmeticError) as exc:
                fail(f"{label}_counted: {exc}")

    # --- what the code uses ------------------------------------------------------------------

    def bytes_moved(self, size: Sequence[int]) -> float:
        """Bytes counted for one call at ``size``: ``bytes_counted`` evaluated."""
        return evaluate_count(self.bytes_counted, self.size_names, size)

    def flops(self, size: Sequence[int]) -> float:
        """Floating-point operations counted for one call at ``size``: ``flops_counted`` evaluated."""
        return evaluate_count(self.flops_counted, self.size_names, size)

    @property
    def merit_label(self) -> str:
        return MERITS[self.merit][0]

    @property
    def merit_rule(self) -> str:
        """How the figure of merit is computed, in one sentence."""
        label, counted = MERITS[self.merit]
        return (
            f"{label}: the {counted} for one call divided by the {TIMING.statistic} time of a warm call,"
            " in units of 10^9 per second."
        )

    def figure_of_merit(self, size: Sequence[int], seconds: float) -> float:
        """The figure of merit of one call at ``size`` that took ``seconds``."""
        counted = self.bytes_moved(size) if self.merit == "gb_per_s" else self.flops(size)
        return counted / seconds / 1e9

    @property
    def timing(self) -> Timing:
        return TIMING

    # --- what people read --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): every field, then what every kernel shares (check, timing, rules).

        :meth:`from_dict` reads it back; the shared part is there for the reader and is ignored.
        """
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "tolerances":
                value = {k: {"value": t.value, "rationale": t.rationale} for k, t in value.items()}
            elif f.name == "check_sizes":
                value = [list(s) for s in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        data["merit_label"] = self.merit_label
        data["merit_rule"] = self.merit_rule
        data["check_rule"] = CHECK_RULE
        data["timing"] = TIMING.to_dict()
        data["every_kernel_may"] = list(EVERY_KERNEL_MAY)
        data["every_kernel_must_not"] = list(EVERY_KERNEL_MUST_NOT)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Specification:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["check_sizes"] = tuple(tuple(s) for s in values.get("check_sizes", ()))
        return cls(**values)

    def to_markdown(self, heading_level: int | None = 2, *, every_kernel: bool = True) -> str:
        """The whole specification as a Markdown section: a table of facts, the counts, the
        tolerances, and what a contributed variant may and must not do.

        ``heading_level=None`` puts the name in bold instead of a heading (for a notebook output,
        where headings do not belong); ``every_kernel=False`` leaves out the rules every kernel
        shares (the check, the timing, the common may / must-not), for a page that shows them once.
        """
        title = f"`{self.name}`: {self.summary}"
        lines = [f"{'#' * heading_level} {title}" if heading_level else f"**{title}**", ""]
        if self.computes:
            lines += [self.computes, ""]
        sizes = ", ".join("x".join(map(str, s)) for s in self.check_sizes) or "none besides the quick size"
        if self.check_sizes_reason:
            sizes += f" ({self.check_sizes_reason})"
        baseline = f"`{self.baseline}`" if self.baseline else "none"
        if self.baseline_reason:
            baseline += f": {self.baseline_reason}"
        merit = self.merit_rule + (f" {self.merit_reason}" if self.merit_reason else "")
        facts = [
            ("formula", f"`{self.formula}`"),
            ("inputs", self.inputs),
            ("size", " x ".join(f"`{n}`" for n in self.size_names)),
            ("quick size", "x".join(map(str, self.quick_size))),
            ("default size", self.default_size_rule),
            ("check sizes", sizes),
            ("figure of merit", merit),
            ("baseline", baseline),
        ]
        lines += ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in facts), ""]
        lines += [
            "**Work counted per call**",
            "",
            "| count | formula | why |",
            "|---|---|---|",
            f"| bytes | `{self.bytes_counted}` | {_cell(self.bytes_reason)} |",
            f"| flops | `{self.flops_counted}` | {_cell(self.flops_reason)} |",
            "",
            "**Correctness**",
            "",
            *([CHECK_RULE, ""] if every_kernel else []),
            "| dtype | tolerance | why |",
            "|---|---|---|",
            *(f"| {d} | {_number(t.value)} | {_cell(t.rationale)} |" for d, t in self.tolerances.items()),
            "",
        ]
        if every_kernel:
            lines += ["**Timing**", "", *(f"- {rule}" for rule in TIMING.rules()), ""]
        may = (*EVERY_KERNEL_MAY, *self.may) if every_kernel else self.may
        must_not = (*EVERY_KERNEL_MUST_NOT, *self.must_not) if every_kernel else self.must_not
        if may:
            lines += ["**A contributed variant may**", "", *(f"- {m}" for m in may), ""]
        if must_not:
            lines += ["**A contributed variant must not**", "", *(f"- {m}" for m in must_not), ""]
        return "\n".join(lines).rstrip() + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown(heading_level=None)


def every_kernel_markdown() -> str:
    """What every specification shares, once: the check, the timing rules, the common may / must-not."""
    lines = ["**Correctness**", "", CHECK_RULE, "", "**Timing**", ""]
    lines += [f"- {rule}" for rule in TIMING.rules()]
    lines += ["", "**Every contributed variant may**", "", *(f"- {m}" for m in EVERY_KERNEL_MAY)]
    lines += ["", "**Every contributed variant must not**", "", *(f"- {m}" for m in EVERY_KERNEL_MUST_NOT)]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """A tolerance as people write it: ``1e-4``, not Python's ``0.0001`` or ``1e-04``."""
    if value >= 1e-2:
        return f"{value:g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, lines joined."""
    return " ".join(str(text).split()).replace("|", "\\|")


__all__ = [
    "CHECK_RULE",
    "EVERY_KERNEL_MAY",
    "EVERY_KERNEL_MUST_NOT",
    "MERITS",
    "TIMING",
    "Specification",
    "Timing",
    "Tolerance",
    "evaluate_count",
    "every_kernel_markdown",
    "parse_count",
]
