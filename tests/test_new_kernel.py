"""A kernel added as one folder is found, listed, checked by the contract suite and benchmarked.

The folder is written in a temporary directory named by ``$HAIEND_KERNEL_PATH``, as a site would
contribute a kernel: no file of this repository is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SPEC = '''
"""toyscale: out = 2 * x, a kernel written only to show that adding one is adding its folder."""

import numpy as np

from haiend.kernels import Kernel, Specification, Tolerance, realisation, variants


def make_inputs(size=(1000,), seed=0):
    return (np.random.default_rng(seed).random(size[0]),)


SPEC = Specification(
    name="toyscale",
    summary="out = 2 * x on a float64 vector",
    formula="out = 2 * x",
    inputs="(x,), uniform in [0, 1) from numpy.random.default_rng(seed)",
    size_names=("n",),
    quick_size=(1000,),
    default_size_rule="2^20 elements",
    check_sizes=((1,), (7,)),
    tolerances={"float64": Tolerance(1e-15, "one correctly rounded product per element: exact")},
    merit="gb_per_s",
    bytes_counted="16 * n",
    bytes_reason="x read once, out written once",
    flops_counted="n",
    flops_reason="one multiply per element",
    baseline="numpy",
)

toyscale = Kernel(
    spec=SPEC,
    make_inputs=make_inputs,
    reference=lambda x: 2.0 * x,
    allocate_output=lambda x: np.zeros_like(x),
    default_size=lambda machine: (1 << 20,),
    footprint=SPEC.bytes_moved,
    variants=variants(
        __name__,
        "scale",
        realisation("numpy", "np.multiply into out"),
        realisation("numba", "a loop in @njit"),
    ),
)
KERNELS = (toyscale,)
'''

NUMPY_IMPL = """
import numpy as np


def scale(x, out):
    return np.multiply(x, 2.0, out=out)
"""

NUMBA_IMPL = """
from numba import njit


@njit(cache=False)
def scale(x, out):
    for i in range(x.size):
        out[i] = 2.0 * x[i]
    return out
"""


@pytest.fixture
def kernel_path(tmp_path):
    package = tmp_path / "contributed" / "toyscale"
    package.mkdir(parents=True)
    for name, text in {"__init__.py": SPEC, "numpy_impl.py": NUMPY_IMPL, "numba_impl.py": NUMBA_IMPL}.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    return package.parent


def _run(args, kernel_path, timeout=300):
    env = {**os.environ, "HAIEND_KERNEL_PATH": str(kernel_path)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _tracked_changes():
    done = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


@pytest.mark.slow
def test_a_kernel_folder_is_found_listed_checked_and_benchmarked(kernel_path):
    before = _tracked_changes()

    listed = _run(["-m", "haiend", "list"], kernel_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split()[:3] for line in listed.stdout.splitlines() if line.startswith("toyscale ")]
    assert rows == [["toyscale", "numpy", "yes"], ["toyscale", "numba", "yes"]]

    contract = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contract.py", "-k", "toyscale"],
                    kernel_path, timeout=600)  # fmt: skip
    assert contract.returncode == 0, contract.stdout[-3000:]
    summary = contract.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 2 + 2 * 3  # spec, kinds, 2 variants x 3 sizes

    bench = _run(["-m", "haiend", "bench", "toyscale", "--quick", "--no-roof", "--no-save", "--repeat", "3",
                  "--json"], kernel_path)  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    outcomes = json.loads(bench.stdout)
    assert [(o["variant"], o["status"]) for o in outcomes] == [("numpy", "measured"), ("numba", "measured")]
    assert outcomes[1]["baseline_ratio"] > 0  # against numpy, measured in the same run

    spec = _run(["-m", "haiend", "spec", "toyscale", "--json"], kernel_path)
    assert spec.returncode == 0, spec.stderr
    assert json.loads(spec.stdout)["bytes_counted"] == "16 * n"

    assert _tracked_changes() == before  # nothing outside the kernel's folder was written


def test_a_broken_kernel_package_is_named_not_dropped(kernel_path):
    (kernel_path / "toyscale" / "__init__.py").write_text("raise ImportError('half written')\n")
    listed = _run(["-m", "haiend", "list"], kernel_path)
    assert listed.returncode == 2
    assert "haiend.kernels.toyscale cannot be imported: half written" in listed.stderr
    assert "Traceback" not in listed.stderr


def test_a_missing_kernel_folder_is_a_clear_error(tmp_path):
    listed = _run(["-m", "haiend", "list"], tmp_path / "nowhere")
    assert listed.returncode == 2
    assert "HAIEND_KERNEL_PATH names" in listed.stderr and "Traceback" not in listed.stderr


def test_a_spec_whose_count_is_not_arithmetic_is_named_at_import(kernel_path):
    init = kernel_path / "toyscale" / "__init__.py"
    init.write_text(
        init.read_text().replace('bytes_counted="16 * n"', "bytes_counted=\"__import__('os').getpid()\"")
    )
    listed = _run(["-m", "haiend", "list"], kernel_path)
    assert listed.returncode == 2
    assert "the specification of kernel 'toyscale': bytes_counted" in listed.stderr
    assert "Traceback" not in listed.stderr
