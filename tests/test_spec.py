"""Every kernel's specification: its counts agree with the formulas they replaced, its evaluator
accepts arithmetic only, and ``haiend spec`` prints it (as Markdown, or JSON that reads back)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from haiend import bench, cli, kernels
from haiend.kernels import TIMING, Specification, Tolerance
from haiend.kernels.spec import MERITS, evaluate_count, parse_count

KERNELS = [kernels.get(name) for name in kernels.kernel_names()]
BUILT_IN = ["stream.copy", "stream.scale", "stream.add", "stream.triad", "matmul.float64", "matmul.float32",
            "stencil2d", "nbody.float64", "nbody.float32"]  # fmt: skip


def _stream(moved, flops_per_element):
    return (lambda s: float(moved * s[0])), (lambda s: float(flops_per_element * s[0]))


def _matmul(itemsize):
    return (
        lambda s: float(itemsize * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])),
        lambda s: float(2 * s[0] * s[1] * s[2]),
    )


def _interior(s):
    return max(s[0] - 2, 0) * max(s[1] - 2, 0) * s[2]


def _nbody(itemsize):
    return (lambda s: float(7 * itemsize * s[0])), (lambda s: float(20 * s[0] ** 2))


# The cost models as the kernels wrote them before they had a specification: the oracle.
OLD_FORMULAS = {
    "stream.copy": _stream(16, 0),
    "stream.scale": _stream(16, 1),
    "stream.add": _stream(24, 1),
    "stream.triad": _stream(24, 2),
    "matmul.float64": _matmul(8),
    "matmul.float32": _matmul(4),
    "stencil2d": ((lambda s: 16.0 * _interior(s)), (lambda s: 4.0 * _interior(s))),
    "nbody.float64": _nbody(8),
    "nbody.float32": _nbody(4),
}
SIZES_1D = [(1,), (2,), (1009,), (4096,), (1 << 20,), (80_000_000,)]
SIZES_3D = [(1, 1, 1), (7, 13, 11), (2, 7, 3), (3, 17, 3), (64, 48, 80), (2048, 2048, 2048), (4097, 4001, 12)]


def test_every_kernel_has_a_specification():
    assert set(BUILT_IN) <= {k.name for k in KERNELS}
    for kernel in KERNELS:
        assert isinstance(kernel.spec, Specification)
        assert kernel.spec.name == kernel.name
        assert kernel.spec.merit in MERITS
        assert kernel.spec.bytes_reason.strip() and kernel.spec.flops_reason.strip()
        assert all(t.rationale.strip() for t in kernel.spec.tolerances.values())


@pytest.mark.parametrize("name", BUILT_IN)
def test_counts_equal_the_formulas_they_replaced(name):
    kernel = kernels.get(name)
    old_bytes, old_flops = OLD_FORMULAS[name]
    sizes = SIZES_1D if len(kernel.size_names) == 1 else SIZES_3D
    for size in [*sizes, *kernel.check_sizes]:
        assert kernel.bytes_moved(size) == old_bytes(size), (name, size)
        assert kernel.flops(size) == old_flops(size), (name, size)
        assert isinstance(kernel.bytes_moved(size), float) and isinstance(kernel.flops(size), float)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_the_kernel_reads_its_facts_from_the_spec(kernel):
    spec = kernel.spec
    assert kernel.size_names == spec.size_names and kernel.quick_size == spec.quick_size
    assert kernel.baseline == spec.baseline and kernel.summary == spec.summary
    assert dict(kernel.tolerances) == {d: t.value for d, t in spec.tolerances.items()}
    assert set(spec.check_sizes) | {spec.quick_size} == set(kernel.check_sizes)
    for dtype, tolerance in spec.tolerances.items():
        assert kernel.tolerance(np.dtype(dtype)) == tolerance.value


def test_merit_is_the_counted_work_over_the_time():
    triad, matmul = kernels.get("stream.triad"), kernels.get("matmul.float64")
    assert triad.spec.figure_of_merit((1000,), 1e-6) == pytest.approx(24_000 / 1e-6 / 1e9)
    assert matmul.spec.figure_of_merit((10, 10, 10), 1e-3) == pytest.approx(2000 / 1e-3 / 1e9)
    assert triad.spec.merit_label == "GB/s" and matmul.spec.merit_label == "GFLOP/s"


@pytest.mark.parametrize(
    "expression, value",
    [
        ("24 * n", 24_000),
        ("16 * (n - 2) ** 2 // 4", 16 * 998**2 // 4),
        ("max(n - 2000, 0) + min(n, 3, 7)", 3),
        ("-n + 2 * n", 1000),
        ("n / 8", 125.0),
        ("(n)", 1000),
    ],
)
def test_the_evaluator_does_arithmetic(expression, value):
    assert evaluate_count(expression, ("n",), (1000,)) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "n.real",
        "n.__class__",
        "abs(n)",
        "pow(n, 2)",
        "max(*[n, 1])",
        "max(n)",
        "max(n, default=1)",
        "m * n",  # a name that is not a size name
        "max",
        "n if n else 1",
        "[n][0]",
        "'n' * 2",
        "True * n",
        "lambda: n",
        "n; n",
        "n % 3",
        "n << 2",
        "(n := 3)",
        "",
    ],
)
def test_the_evaluator_refuses_anything_else(expression):
    with pytest.raises(ValueError):
        parse_count(expression, ("n",))


def _toy(**changes):
    fields = dict(
        name="toy",
        summary="out = 2 * x",
        formula="out = 2 * x",
        inputs="x",
        size_names=("n",),
        quick_size=(10,),
        default_size_rule="10",
        tolerances={"float64": Tolerance(1e-15, "exact")},
        merit="gb_per_s",
        bytes_counted="16 * n",
        bytes_reason="x and out once",
        flops_counted="n",
        flops_reason="one multiply",
        baseline=None,
    )
    return Specification(**(fields | changes))


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"bytes_counted": "__import__('os')"}, "bytes_counted"),
        ({"flops_counted": "n.bit_length()"}, "flops_counted"),
        ({"flops_counted": "n - 20"}, "gives -10.0"),
        ({"flops_counted": "n // (n - n)"}, "flops_counted"),
        ({"flops_counted": 24}, "written as text"),
        ({"merit": "gflops"}, "merit must be one of"),
        ({"quick_size": (10, 10)}, "not a positive size"),
        ({"check_sizes": ((0,),)}, "not a positive size"),
        ({"tolerances": {}}, "no tolerance"),
        ({"tolerances": {"float64": Tolerance(1e-15, " ")}}, "rationale"),
        ({"tolerances": {"double": Tolerance(1e-15, "exact")}}, "not a NumPy dtype name"),
        ({"size_names": ("max",)}, "cannot be a size name"),
    ],
)
def test_a_bad_specification_names_its_kernel(changes, words):
    with pytest.raises(ValueError, match="kernel 'toy'") as raised:
        _toy(**changes)
    assert words in str(raised.value)


def test_to_dict_round_trips_through_json():
    for kernel in KERNELS:
        assert Specification.from_dict(json.loads(json.dumps(kernel.spec.to_dict()))) == kernel.spec


def test_markdown_shows_every_part():
    spec = kernels.get("stencil2d").spec
    text = spec.to_markdown()
    assert text.startswith("## `stencil2d`")
    for part in (spec.bytes_counted, spec.flops_counted, spec.default_size_rule, spec.baseline, *spec.may,
                 *spec.must_not, *TIMING.rules(), "1e-13"):  # fmt: skip
        assert part in text.replace("\\|", "|"), part
    short = spec.to_markdown(heading_level=None, every_kernel=False)
    assert short.startswith("**`stencil2d`") and TIMING.rules()[0] not in short


def test_bench_and_the_command_take_their_timing_defaults_from_the_spec():
    import inspect

    for function in (bench.run, bench.run_variant):
        defaults = inspect.signature(function).parameters
        assert defaults["repeat"].default == TIMING.repeat
        assert defaults["warmup"].default == TIMING.warmup
        assert defaults["max_duration"].default == TIMING.max_duration_s
    args = cli.build_parser().parse_args(["bench", "stream"])
    assert (args.repeat, args.warmup, args.max_duration) == (
        TIMING.repeat,
        TIMING.warmup,
        TIMING.max_duration_s,
    )


def haiend(*args):
    return subprocess.run(
        [sys.executable, "-m", "haiend", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )


def test_haiend_spec_prints_the_tolerance():
    done = haiend("spec", "stream.triad")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("## `stream.triad`")
    assert "| float64 | 1e-14 |" in done.stdout
    assert kernels.get("stream.triad").spec.bytes_counted in done.stdout


def test_haiend_spec_of_an_unknown_kernel_is_one_line_and_exit_2():
    done = haiend("spec", "nosuch")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "nosuch" in done.stderr


def test_haiend_spec_json_round_trips():
    done = haiend("spec", "stream.triad", "--json")
    assert done.returncode == 0, done.stderr
    assert Specification.from_dict(json.loads(done.stdout)) == kernels.get("stream.triad").spec
    group = haiend("spec", "nbody", "--json")
    assert [d["name"] for d in json.loads(group.stdout)] == ["nbody.float64", "nbody.float32"]
