"""The machine fingerprint: complete, JSON-able, from the right sources, and stable."""

import json
import re
from pathlib import Path

import pytest

from haiend import machine

DOCUMENTED_KEYS = {
    # collect_cpu
    "cpu_model", "architecture", "logical_cores", "physical_cores", "usable_cores", "cpu_mhz_reported",
    "simd", "hypervisor",
    # collect_caches, collect_memory, collect_os
    "caches", "last_level_cache_bytes", "memory_total_bytes", "memory_available_bytes", "numa_nodes",
    "hostname", "os", "kernel", "distribution", "cpu_governor",
    # collect_python, collect_blas, collect_numba, collect_environment, collect_gpu, collect_mpi
    "python", "python_implementation", "python_executable", "packages", "c_compiler", "blas", "threadpools",
    "numba", "performance_environment", "gpu", "mpi",
    "machine_id",
}  # fmt: skip
ID_FORM = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{8}")


@pytest.fixture(scope="module")
def info():
    return machine.describe()


def test_describe_is_json_serialisable_with_the_documented_keys(info):
    assert json.loads(json.dumps(info)) == info
    assert DOCUMENTED_KEYS <= set(info), f"missing: {sorted(DOCUMENTED_KEYS - set(info))}"
    assert "probe_errors" not in info, info.get("probe_errors")
    assert info["logical_cores"] >= info["usable_cores"] >= 1
    assert info["memory_total_bytes"] >= info["memory_available_bytes"] > 0
    assert "numpy" in info["packages"] and "haiend" in info["packages"]


def test_cache_sizes_come_from_sysfs(info):
    sysfs = Path("/sys/devices/system/cpu/cpu0/cache")
    if not sysfs.is_dir():
        pytest.skip("this system has no /sys/devices/system/cpu/cpu0/cache to compare with")
    expected = {}
    for index in sysfs.glob("index[0-9]*"):
        level, kind = (index / "level").read_text().strip(), (index / "type").read_text().strip()
        size = machine._parse_cache_size((index / "size").read_text())
        expected[f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")] = size
    assert expected, "sysfs lists no cache"
    assert info["caches"] == expected
    assert info["last_level_cache_bytes"] == max(expected.values())


@pytest.mark.parametrize(
    "text, size",
    [
        ("48K", 48 * 1024),
        ("2048K", 2 * 2**20),
        ("260M", 260 * 2**20),
        ("266240K", 260 * 2**20),
        ("1G", 2**30),
        (" 32k\n", 32 * 1024),
        ("512", 512),
        ("", None),
        ("big", None),
        ("1.5M", None),
    ],
)
def test_parse_cache_size(text, size):
    assert machine._parse_cache_size(text) == size


def test_machine_id_is_stable_and_has_slug_hash_form(info):
    first, second = machine.machine_id(), machine.machine_id()
    assert first == second == info["machine_id"] == machine.describe()["machine_id"]
    assert ID_FORM.fullmatch(first), first


def test_machine_id_from_given_facts():
    facts = {
        "cpu_model": "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz",
        "logical_cores": 224,
        "memory_total_bytes": 2 * 2**40,
        "gpu": None,
        "hostname": "node-1",
    }
    ident = machine.machine_id(facts)
    assert ident.startswith("intel-xeon-platinum-8480-")
    assert ID_FORM.fullmatch(ident)
    assert machine.machine_id(facts | {"hostname": "node-2"}) == ident  # pods get new hostnames
    assert machine.machine_id(facts | {"logical_cores": 112}) != ident
    assert machine.machine_id(facts | {"gpu": {"name": "NVIDIA H100"}}) != ident
    amd = machine.machine_id({"cpu_model": "AMD EPYC 9654 96-Core Processor"})
    assert amd.startswith("amd-epyc-9654-") and ID_FORM.fullmatch(amd)


def test_collect_environment_picks_performance_variables(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setenv("CFLAGS", "-O2")
    monkeypatch.setenv("MY_UNRELATED_VARIABLE", "1")
    monkeypatch.setenv("OPENBLASX", "1")  # the prefix is OPENBLAS_, with the underscore
    monkeypatch.setenv("XOMP_NUM_THREADS", "1")
    env = machine.collect_environment()["performance_environment"]
    assert env["OPENBLAS_CORETYPE"] == "Haswell"
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["NUMBA_NUM_THREADS"] == "2"
    assert env["CFLAGS"] == "-O2"
    for unrelated in ("MY_UNRELATED_VARIABLE", "OPENBLASX", "XOMP_NUM_THREADS", "PATH", "HOME"):
        assert unrelated not in env
    assert list(env) == sorted(env)


def test_summary_returns_rows(info):
    rows = machine.summary(info)
    assert rows and all(isinstance(k, str) and isinstance(v, str) for k, v in rows)
    table = dict(rows)
    assert table["machine id"] == info["machine_id"]
    assert {"CPU", "cores", "caches", "memory", "BLAS", "GPU", "MPI", "environment"} <= set(table)
    assert info["cpu_model"] in table["CPU"]


def test_summary_of_an_empty_fingerprint_still_has_rows():
    table = dict(machine.summary({}))
    assert table["machine id"] == "?"
    assert table["GPU"] == "none" and table["caches"] == "unknown"


HYDRA = """HYDRA build details:
    Version:                                 4.2.1
    Release Date:                            Wed Apr 17 15:30:02 CDT 2024
    CC:                              gcc
"""
INTEL_MPI = "Intel(R) MPI Library for Linux* OS, Version 2021.10"
OPEN_MPI = """mpiexec (OpenRTE) 4.1.2

Report bugs to http://www.open-mpi.org/community/help/
"""


@pytest.mark.parametrize(
    "text, name",
    [
        (HYDRA, "MPICH (Hydra) 4.2.1"),
        (OPEN_MPI, "mpiexec (OpenRTE) 4.1.2"),
        (INTEL_MPI + "\nCopyright 2003-2023 Intel Corporation.\n", INTEL_MPI),
        ("", None),
        ("\n  \n", None),
    ],
)
def test_mpi_library_name(text, name):
    assert machine._mpi_library_name(text) == name


def test_a_failing_collector_lands_in_probe_errors(monkeypatch):
    def collect_gpu():
        raise RuntimeError("nvidia-smi exploded")

    monkeypatch.setattr(machine, "collect_gpu", collect_gpu)
    info = machine.describe()
    assert info["probe_errors"] == {"collect_gpu": "RuntimeError: nvidia-smi exploded"}
    assert "gpu" not in info
    # the rest of the fingerprint is still there
    assert {"cpu_model", "caches", "memory_total_bytes", "mpi", "machine_id"} <= set(info)
    json.dumps(info)
