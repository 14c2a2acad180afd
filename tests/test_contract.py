"""The kernel contract, checked for every kernel found and every one of its realisations.

A new kernel is covered by adding its folder: the parameters below come from discovery
(``haiend.kernels.kernel_names()``, which also searches ``$HAIEND_KERNEL_PATH``). Each
realisation is checked against the reference at the kernel's awkward sizes
(``kernel.check_sizes``): host realisations in this process, array code written for CuPy on
NumPy arrays, CUDA kernels under Numba's simulator, MPI realisations under ``mpiexec`` with two
and three ranks. What is particular to one kernel stays in its own ``test_kernel_*.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

import helpers
from haiend import kernels, mpi
from haiend.kernels import KINDS

KERNELS = [kernels.get(name) for name in kernels.kernel_names()]
HOST_KINDS = [name for name, kind in KINDS.items() if kind.device == "cpu"]


def _cases(kinds):
    return [
        pytest.param(kernel, variant, size, id=f"{kernel.name}-{variant.name}-{kernel.size_label(size)}")
        for kernel in KERNELS
        for variant in kernel.variants.values()
        if variant.kind.name in kinds
        for size in kernel.check_sizes
    ]


def test_kernels_are_found():
    assert {"stream.triad", "matmul.float64", "stencil2d", "nbody.float64"} <= {k.name for k in KERNELS}


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_every_variant_is_of_a_known_kind_and_names_its_needs(kernel):
    assert kernel.variants, f"{kernel.name} has no realisations"
    for variant in kernel.variants.values():
        assert KINDS[variant.kind.name] is variant.kind
        assert set(variant.kind.requires) <= set(variant.requires)
        assert variant.summary.strip(), f"{kernel.name}/{variant.name} has no summary"
        assert variant.kernel is kernel


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_the_specification_is_consistent(kernel):
    quick = kernel.quick_size
    assert kernel.parse_size(kernel.size_label(quick)) == quick
    assert len(kernel.size_names) == len(quick)
    for size in kernel.check_sizes:
        assert kernel.bytes_moved(size) >= 0 and kernel.flops(size) >= 0 and kernel.footprint(size) > 0
    machine = {"last_level_cache_bytes": 32 * 2**20, "memory_available_bytes": 16 * 2**30, "caches": {}}
    assert len(kernel.default_size(machine)) == len(quick)
    first, again, other = (kernel.make_inputs(quick, seed=s) for s in (1, 1, 2))
    arrays = [i for i, x in enumerate(first) if isinstance(x, np.ndarray)]
    assert arrays, "make_inputs returns no array"
    for i in arrays:
        np.testing.assert_array_equal(first[i], again[i])  # deterministic for a seed
    assert any(not np.array_equal(first[i], other[i]) for i in arrays), "another seed gives the same inputs"
    expected = kernel.reference(*first)
    out = kernel.allocate_output(*first)
    assert out.shape == expected.shape and out.dtype.name in kernel.tolerances
    assert kernel.check(expected.astype(out.dtype), expected).passed


@pytest.mark.parametrize("kernel, variant, size", _cases(HOST_KINDS))
def test_realisation_matches_the_reference(kernel, variant, size):
    """Host realisations (and MPI ones on a world of one rank) at every awkward size."""
    availability = variant.available()
    if not availability:
        pytest.skip(availability.reason)
    inputs = kernel.make_inputs(size)
    expected = kernel.reference(*inputs)
    result = variant(*inputs)
    assert isinstance(result, np.ndarray) and result.shape == expected.shape
    assert result.dtype == kernel.allocate_output(*inputs).dtype
    check = kernel.check(result, expected)
    assert check.passed, f"{kernel.name}/{variant.name} at {kernel.size_label(size)}: {check}"


@pytest.mark.parametrize("kernel, variant, size", _cases(["cupy"]))
def test_array_code_for_cupy_runs_on_numpy_arrays(kernel, variant, size):
    """Code written against the xp namespace runs on NumPy here and on CuPy on a GPU."""
    inputs = kernel.make_inputs(size)
    out = kernel.allocate_output(*inputs)
    returned = variant.impl(*inputs, out)
    assert returned is out
    check = kernel.check(out, kernel.reference(*inputs))
    assert check.passed, f"{kernel.name}/{variant.name} on NumPy at {kernel.size_label(size)}: {check}"


def simulated_sizes(kernel):
    """Check sizes the CUDA simulator gets through quickly: it runs each GPU thread in Python."""
    return [s for s in kernel.check_sizes if kernel.flops(s) <= 1e6 and kernel.footprint(s) <= 2**20]


SIMULATED = textwrap.dedent(
    """
    import json, sys
    from haiend import kernels
    report = []
    for name, sizes in json.loads(sys.argv[1]).items():
        kernel = kernels.get(name)
        for variant in kernel.variants.values():
            if variant.kind.name != "cuda":
                continue
            available = variant.available()
            for size in sizes:
                if not available:
                    report.append([name, variant.name, size, None, available.reason])
                    continue
                inputs = kernel.make_inputs(tuple(size))
                check = kernel.check(variant(*inputs), kernel.reference(*inputs))
                report.append([name, variant.name, size, check.passed, str(check)])
    print(json.dumps(report))
    """
)


def test_cuda_realisations_under_the_simulator():
    sizes = {k.name: simulated_sizes(k) for k in KERNELS if any(v.kind.name == "cuda" for v in k.variants.values())}
    if not sizes:
        pytest.skip("no kernel has a cuda realisation")
    report = json.loads(helpers.under_cuda_simulator(SIMULATED, json.dumps(sizes)))
    assert {row[0] for row in report} == set(sizes)
    for name, variant, size, passed, verdict in report:
        assert passed is not None, f"{name}/{variant} cannot run under the simulator: {verdict}"
        assert passed, f"{name}/{variant} at {size} under the simulator: {verdict}"
    assert len(report) == sum(len(s) for s in sizes.values())


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_realisations_under_mpiexec(ranks):
    """Every MPI realisation at every awkward size, in one job: rank 0 checks the gathered result."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed: pip install mpi4py mpich")
    tests = str(Path(__file__).parent)
    path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH", "")) if p)
    done = mpi.launch("mpi_contract", ranks, env={"PYTHONPATH": path}, timeout=600)
    if done is None:
        pytest.skip("no mpiexec beside this Python or on the PATH: pip install mpich mpi4py")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    expected = [(k.name, v.name) for k in KERNELS for v in k.variants.values() if v.spreads == "ranks"]
    assert sorted({(r["kernel"], r["variant"]) for r in report}) == sorted(expected)
    for row in report:
        assert row["ranks"] == ranks
        assert row["passed"], row


@pytest.mark.mpi
def test_bench_under_mpiexec_records_ranks_and_reports_once():
    """The command's route under mpiexec (an uneven split: 1009 = 337 + 336 + 336)."""
    outcomes, progress = helpers.mpi_bench("stream", 3, "--size", "1009", "--repeat", "3")
    assert [o.kernel for o in outcomes] == ["stream.copy", "stream.scale", "stream.add", "stream.triad"]
    for outcome in outcomes:
        assert outcome.status == "measured", outcome.reason
        assert (outcome.record.ranks, outcome.record.threads, outcome.size) == (3, 1, (1009,))
        assert outcome.check.passed
    assert progress.count("[stream.triad 1/1] mpi") == 1  # progress from rank 0 alone
