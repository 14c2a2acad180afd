"""Energy: RAPL on a fake powercap tree (wrap-around, root-only files), the estimate against its
own formula, NVML's absence, carbon from a cited intensity, and the site profile's energy table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from haiend import energy
from haiend.energy import carbon, estimate, rapl
from haiend.errors import HaiendError

INFO = {"usable_cores": 2, "architecture": "x86_64", "memory_total_bytes": 24 * 2**30}


def zone(root: Path, folder: str, name: str, energy_uj: int, wraps_at: int = 262_143_328_850) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{wraps_at}\n")
    return path


@pytest.fixture
def fake_tree(tmp_path, monkeypatch) -> Path:
    """A package with core and DRAM subzones, as Linux lays them out under /sys/class/powercap."""
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", 1_000_000)
    zone(root, "intel-rapl:0:0", "core", 500_000)
    zone(root, "intel-rapl:0:1", "dram", 2_000_000)
    (root / "intel-rapl").mkdir()  # the control-type folder: no counter of its own
    monkeypatch.setenv(rapl.ENV_ROOT, str(root))
    return root


def advance(root: Path, **values: int) -> None:
    """Move fake counters on, as the hardware would while the metered work runs."""
    for folder, value in values.items():
        (root / folder / "energy_uj").write_text(f"{value}\n")


def test_rapl_joules_are_the_counter_differences_of_package_and_dram(fake_tree):
    with energy.meter(info=INFO) as m:
        advance(
            fake_tree, **{"intel-rapl:0": 4_500_000, "intel-rapl:0:0": 900_000, "intel-rapl:0:1": 2_250_000}
        )
    reading = m.reading
    assert reading.method == "measured" and reading.reason == ""
    assert reading.joules == pytest.approx(3.5 + 0.25)  # the core subzone is inside the package
    assert reading.parts == {
        "intel-rapl:0 package-0": pytest.approx(3.5),
        "intel-rapl:0:1 dram": pytest.approx(0.25),
    }
    assert "DRAM" in reading.scope and "whole node" in reading.scope


def test_a_counter_that_wrapped_between_the_reads_still_counts_once(tmp_path, monkeypatch):
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", 999_000, wraps_at=1_000_000)
    monkeypatch.setenv(rapl.ENV_ROOT, str(root))
    with energy.meter(info=INFO) as m:
        advance(root, **{"intel-rapl:0": 4000})  # 1000 uJ to the wrap, then 4000 more
    assert m.reading.joules == pytest.approx(5000 / 1e6)
    assert rapl.difference(999_000, 4000, 1_000_000) == 5000
    assert rapl.difference(10, 30, 1_000_000) == 20


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads a file whatever its mode, so no file is root-only for it"
)
def test_a_root_only_counter_gives_an_estimate_that_says_why(fake_tree):
    # unreadable to this user, as energy_uj (mode 0400, owned by root) is to every user but root
    (fake_tree / "intel-rapl:0:1" / "energy_uj").chmod(0o000)
    with energy.meter(info=INFO) as m:
        pass
    assert m.reading.method == "estimated"
    assert "root only" in m.reading.reason and "CVE-2020-8694" in m.reading.reason


def test_a_permission_error_is_reported_as_root_only(fake_tree, monkeypatch):
    """The same path as above for a test run as root, where chmod cannot take the file away."""
    real = rapl.Zone.read

    def refuse(self):
        if self.name == "dram":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(rapl.Zone, "read", refuse)
    with pytest.raises(rapl.Unavailable, match="readable by root only"):
        rapl.zones()


def test_no_powercap_tree_gives_an_estimate_with_its_assumptions(tmp_path, monkeypatch):
    monkeypatch.setenv(rapl.ENV_ROOT, str(tmp_path / "absent"))
    with energy.meter(info=INFO) as m:
        sum(i * i for i in range(200_000))
    r = m.reading
    assert r.method == "estimated" and "no powercap tree" in r.reason
    model = estimate.model(INFO)
    expected = model.joules(r.seconds, r.cpu_seconds)
    assert r.joules == pytest.approx(sum(expected.values()))
    assert any("CodeCarbon" in a for a in r.assumptions)
    assert "estimated" in str(r)


def test_the_estimate_follows_its_formula():
    model = estimate.model(INFO)
    assert (model.watts_per_thread, model.threads) == (estimate.WATTS_PER_THREAD, 2)
    assert model.memory_watts == 2 * 5.0  # 24 GiB: max(2, ceil(24 / 16)) = 2 DIMMs at 5 W
    busy = model.joules(seconds=2.0, cpu_seconds=3.0)
    assert busy == {"cpu": pytest.approx(4.0 * 3.0), "memory": pytest.approx(10.0 * 2.0)}
    idle = model.joules(seconds=2.0, cpu_seconds=0.0)  # the floor: 10 % of both threads' power
    assert idle["cpu"] == pytest.approx(0.1 * 4.0 * 2 * 2.0)
    assert model.idle_watts == pytest.approx(0.1 * 8.0 + 10.0)
    arm = estimate.model({**INFO, "architecture": "aarch64", "memory_total_bytes": 64 * 2**30})
    assert arm.memory_watts == 4 * 1.5
    site = estimate.model(INFO, {"cpu_watts_per_thread": 7.5, "memory_watts": 3})
    assert (site.watts_per_thread, site.memory_watts) == (7.5, 3.0)
    assert any("site profile" in a for a in site.assumptions)


def test_same_runtime_same_threads_same_estimate():
    model = estimate.model(INFO)
    assert model.joules(1.0, 1.0) == model.joules(1.0, 1.0)


def test_idle_is_measured_on_a_counter_and_estimated_without_one(fake_tree, tmp_path, monkeypatch):
    measured = energy.idle(0.01, info=INFO)
    assert measured.method == "measured" and measured.joules == 0  # the fake counters stood still
    monkeypatch.setenv(rapl.ENV_ROOT, str(tmp_path / "absent"))
    estimated = energy.idle(0.5, info=INFO)
    assert estimated.method == "estimated"
    assert estimated.mean_watts == pytest.approx(estimate.model(INFO).idle_watts)


def test_a_gpu_without_nvml_gives_none_with_the_reason(monkeypatch):
    from haiend.energy import nvml

    def missing(index=0):
        raise nvml.Unavailable("nvidia-ml-py is not installed: pip install nvidia-ml-py")

    monkeypatch.setattr(nvml, "counter", missing)
    energy._probe.cache_clear()
    with energy.meter("gpu", info=INFO) as m:
        pass
    assert m.reading.method == "none" and m.reading.joules is None and m.reading.mean_watts is None
    assert "nvidia-ml-py" in m.reading.reason
    energy._probe.cache_clear()


def test_metering_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(energy.ENV_SWITCH, "off")
    with energy.meter(info=INFO) as m:
        pass
    assert m.reading.method == "none" and "HAIEND_ENERGY=off" in m.reading.reason


def test_carbon_is_kwh_times_intensity_times_pue():
    uk = carbon.UK_2024
    assert uk.g_per_kwh == 207.05 and uk.year == 2024 and "gov.uk" in uk.source
    assert uk.grams(3.6e6) == pytest.approx(207.05)
    site = carbon.from_table(
        {
            "grid_intensity_g_per_kwh": 100,
            "grid_intensity_source": "a site's contract",
            "grid_intensity_year": 2025,
            "pue": 1.5,
        }
    )
    assert site.grams(3.6e6) == pytest.approx(150.0) and site.pue_source == "site profile"
    assert carbon.from_table({"pue": 1.2}).g_per_kwh == 207.05
    with pytest.raises(HaiendError, match="source and year"):
        carbon.from_table({"grid_intensity_g_per_kwh": 100})


PROFILE = """
partition = "compute"
account = ""
nodes = 1
tasks_per_node = 2
cpus_per_task = 1
time = "00:10:00"
modules = []
activate = "true"
launcher = "srun"
results_dir = "/tmp/r"
"""


def test_the_site_profile_energy_table_is_read_and_checked(tmp_path, monkeypatch):
    pytest.importorskip("tomllib", reason="TOML site profiles need Python 3.11")
    good = tmp_path / "site.toml"
    good.write_text(
        PROFILE
        + '[energy]\ngrid_intensity_g_per_kwh = 50\ngrid_intensity_source = "supplier, 2025 fuel mix"\n'
        + "grid_intensity_year = 2025\npue = 1.1\n"
    )
    monkeypatch.setenv(carbon.ENV_PROFILE, str(good))
    configured = carbon.configured()
    assert (configured.g_per_kwh, configured.year, configured.pue) == (50.0, 2025, 1.1)
    bad = tmp_path / "bad.toml"
    bad.write_text(PROFILE + "[energy]\ngrid_intensity_g_per_kwh = 50\n")
    with pytest.raises(HaiendError, match="key 'energy' must be a table"):
        carbon.energy_table(bad)
    monkeypatch.delenv(carbon.ENV_PROFILE)
    assert carbon.configured() == carbon.UK_2024


# -- energy in the records bench makes ------------------------------------------------------------


def test_bench_records_the_measured_counter_difference_wrap_included(tmp_path, monkeypatch):
    """Each read of the fake package counter moves it on 0.3 J, wrapping at 1 J: every metered
    window (start read, stop read) is then exactly 0.3 J, across the wrap or not."""
    from haiend import bench

    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", 800_000, wraps_at=1_000_000)
    monkeypatch.setenv(rapl.ENV_ROOT, str(root))
    counter = root / "intel-rapl:0" / "energy_uj"

    def read_and_move_on(self):
        value = int(counter.read_text())
        counter.write_text(f"{(value + 300_000) % 1_000_000}\n")
        return value

    monkeypatch.setattr(rapl.Zone, "read", read_and_move_on)
    energy._IDLE.clear()
    [outcome] = bench.run("stream.triad", variants=["numpy"], size="4096", threads_=1, repeat=3, save=False)
    e = outcome.record.energy
    assert e["method"] == "measured" and e["joules"] == pytest.approx(0.3)
    assert e["calls"] == len(outcome.timing.warmup_times) + len(outcome.timing.times) * outcome.timing.batch
    assert outcome.record.joules_per_call == pytest.approx(0.3 / e["calls"])
    assert e["idle"]["method"] == "measured" and e["idle"]["watts"] > 0
    assert e["intensity"]["g_per_kwh"] == carbon.UK_2024.g_per_kwh
    assert outcome.record.carbon_g_per_call == pytest.approx(0.3 / e["calls"] / 3.6e6 * 207.05)
    energy._IDLE.clear()


def bench_small(tmp_path: Path, *extra: str, **env: str) -> subprocess.CompletedProcess:
    """``haiend bench`` of the NumPy triad at a small size, no ceilings, with ``env`` added."""
    environment = {**os.environ, "HAIEND_RESULTS_DIR": str(tmp_path / "results"), **env}
    if carbon.ENV_PROFILE not in env:
        environment.pop(carbon.ENV_PROFILE, None)
    command = [
        "bench",
        "stream.triad",
        "--variants",
        "numpy",
        "--size",
        "4096",
        "--threads",
        "1",
        "--no-roof",
    ]
    return subprocess.run(
        [sys.executable, "-m", "haiend", *command, *extra],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )


def test_bench_json_reports_an_estimate_with_its_assumptions(tmp_path):
    done = bench_small(tmp_path, "--repeat", "3", "--json", **{rapl.ENV_ROOT: str(tmp_path / "no-powercap")})
    assert done.returncode == 0, done.stderr
    [outcome] = json.loads(done.stdout) if done.stdout.lstrip().startswith("[") else [json.loads(done.stdout)]
    record = outcome["record"]
    e = record["energy"]
    assert e["method"] == "estimated" and "no powercap tree" in e["reason"]
    assert any("CodeCarbon" in a for a in e["assumptions"]) and e["idle"]["method"] == "estimated"
    assert record["joules_per_call"] == pytest.approx(e["joules"] / e["calls"])
    assert record["carbon_g_per_call"] > 0 and "gov.uk" in e["intensity"]["source"]


def test_a_bad_site_profile_stops_bench_with_one_sentence(tmp_path):
    profile = tmp_path / "site.json"
    profile.write_text(json.dumps({"partition": "x"}))
    done = bench_small(tmp_path, **{carbon.ENV_PROFILE: str(profile)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.count("\n") == 1
        and "site profile" in done.stderr
        and "'account' is missing" in done.stderr
    )


def test_nvml_joules_are_the_energy_counter_difference(monkeypatch):
    """NVML's total-energy counter (millijoules) through a stand-in for nvidia-ml-py: the code
    path a GPU machine takes, checked here without one (the device check runs it for real)."""
    import types

    readings = iter([1_000_000, 1_000_000, 1_250_500])  # probe, start, stop (mJ)
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    fake.NVMLError = NVMLError
    fake.nvmlInit = lambda: None
    fake.nvmlDeviceGetHandleByIndex = lambda index: ("handle", index)
    fake.nvmlDeviceGetName = lambda handle: b"Test GPU"
    fake.nvmlDeviceGetTotalEnergyConsumption = lambda handle: next(readings)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    energy._probe.cache_clear()
    with energy.meter("gpu", info=INFO) as m:
        pass
    energy._probe.cache_clear()
    assert m.reading.method == "measured" and m.reading.joules == pytest.approx(250.5)
    assert "Test GPU" in m.reading.scope and "nvmlDeviceGetTotalEnergyConsumption" in m.reading.source


def test_a_table_marks_estimates_only_when_it_mixes_methods(tmp_path, monkeypatch):
    from dataclasses import replace

    from haiend import bench, tables

    monkeypatch.setenv(rapl.ENV_ROOT, str(tmp_path / "absent"))
    [estimated] = bench.run("stream.triad", variants=["numpy"], size="4096", threads_=1, repeat=2, save=False)
    alone = tables.results([estimated])
    assert "est." not in alone.rows[0]["mJ/call"] and alone.notes[0].startswith("mJ/call estimated")
    measured_energy = {**estimated.record.energy, "method": "measured", "assumptions": [], "reason": ""}
    measured = replace(estimated, variant="other", record=replace(estimated.record, energy=measured_energy))
    both = tables.results([estimated, measured])
    assert both.rows[0]["mJ/call"].endswith(" est.") and not both.rows[1]["mJ/call"].endswith(" est.")
