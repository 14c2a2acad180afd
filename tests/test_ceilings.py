"""Ceilings: serialisation, picking a roof, and when the cache is used or measured anew."""

import json
from pathlib import Path

import pytest

from haiend import ceilings, tables, threads
from haiend.ceilings import Ceilings
from haiend.errors import HaiendError
from haiend.roofline import CacheLevel, Roof

SAMPLE = Ceilings(
    machine_id="test-cpu-0123abcd",
    roofs={
        1: Roof(10e9, 40e9, 1, "STREAM triad (c), 1 thread", "dgemm, 1 thread"),
        4: Roof(30e9, 150e9, 4, "STREAM triad (c), 4 threads", "dgemm, 4 threads"),
    },
    float32_peaks={1: (80e9, "sgemm, 1 thread"), 4: (300e9, "sgemm, 4 threads")},
    clock_hz=3e9,
    theoretical_peak_per_core=96e9,
    environment={"OMP_NUM_THREADS": "4"},
    measured_at="2025-01-01T00:00:00.000000Z",
    quick=True,
    levels={
        1: (CacheLevel("L1d", 32768, False, 200e9, "C triad, L1d"), CacheLevel("L2", 2**20, False, 90e9, "C triad, L2"),
            CacheLevel("L3", 32 * 2**20, True, 40e9, "C triad, L3")),
    },  # fmt: skip
)


def test_to_dict_from_dict_round_trip():
    assert Ceilings.from_dict(SAMPLE.to_dict()) == SAMPLE
    # and through JSON, where the thread counts become strings
    data = json.loads(json.dumps(SAMPLE.to_dict()))
    assert set(data["roofs"]) == {"1", "4"}
    assert Ceilings.from_dict(data) == SAMPLE


def test_from_dict_defaults():
    minimal = Ceilings.from_dict({"machine_id": "m", "roofs": {"2": {"bandwidth": 1.0, "peak": 2.0}}})
    assert minimal.roofs == {2: Roof(1.0, 2.0, 2)}
    assert minimal.quick is False and minimal.environment == {} and minimal.clock_hz is None


@pytest.mark.parametrize("n, chosen", [(1, 1), (2, 1), (3, 1), (4, 4), (64, 4), (0, 1)])
def test_roof_picks_the_largest_measured_count_not_above(n, chosen):
    roof = SAMPLE.roof(n)
    assert roof.threads == chosen
    assert roof is SAMPLE.roofs[chosen]


def test_the_ceilings_table():
    table = tables.ceilings(SAMPLE)
    assert [list(row.values()) for row in table.rows] == [
        ["1", "10.0", "40.0", "4.00", "200.0", "90.0", "40.0"],
        ["4", "30.0", "150.0", "5.00"],
    ]
    assert list(table.rows[0]) == [
        "threads", "bandwidth GB/s", "peak GFLOP/s", "ridge flop/byte", "L1d GB/s", "L2 GB/s", "L3 GB/s"
    ]  # fmt: skip
    assert table.notes == SAMPLE.notes() and SAMPLE.machine_id in table.caption


@pytest.fixture
def fake_measure(monkeypatch):
    """Replace the measurement with a fixed result; count the calls and the quick flags."""
    calls = []

    def measure(info=None, *, quick=False, progress=None):
        calls.append(quick)
        return Ceilings(
            machine_id=info["machine_id"],
            roofs={1: Roof(10e9, 40e9, 1, "fake bandwidth", "fake peak")},
            float32_peaks={1: (80e9, "fake sgemm")},
            environment=info.get("performance_environment", {}),
            measured_at=f"measurement {len(calls)}",
            quick=quick,
            levels={1: (CacheLevel("L2", 2**20, False, 80e9, "fake L2"),)},
        )

    monkeypatch.setattr(ceilings, "measure", measure)
    return calls


def test_get_measures_once_then_uses_the_cache(fake_measure, isolated_dirs):
    first = ceilings.get(quick=True)
    assert fake_measure == [True]
    assert (isolated_dirs / first.machine_id / "ceilings.json").exists()
    second = ceilings.get(quick=True)
    assert fake_measure == [True]
    assert second == first


def test_get_measures_again_when_the_environment_differs(fake_measure, monkeypatch):
    ceilings.get(quick=True)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    again = ceilings.get(quick=True)
    assert fake_measure == [True, True]
    assert again.environment["OPENBLAS_CORETYPE"] == "Haswell"
    ceilings.get(quick=True)  # the new environment is now the cached one
    assert len(fake_measure) == 2


def test_get_measures_again_on_request(fake_measure):
    ceilings.get(quick=True)
    again = ceilings.get(quick=True, remeasure=True)
    assert fake_measure == [True, True]
    assert again.measured_at == "measurement 2"
    assert ceilings.get(quick=True).measured_at == "measurement 2"  # the new one was cached


def test_a_quick_cache_is_not_used_for_a_full_request(fake_measure):
    ceilings.get(quick=True)
    full = ceilings.get(quick=False)
    assert fake_measure == [True, False]
    assert full.quick is False
    ceilings.get(quick=True)  # a full measurement serves a quick request
    ceilings.get(quick=False)
    assert fake_measure == [True, False]


def test_get_with_a_corrupt_cache_names_the_file(fake_measure, isolated_dirs):
    first = ceilings.get(quick=True)
    path = isolated_dirs / first.machine_id / "ceilings.json"
    path.write_text("{")
    with pytest.raises(HaiendError, match="ceilings.json"):
        ceilings.get(quick=True)
    assert ceilings.get(quick=True, remeasure=True).measured_at == "measurement 2"  # the way out


@pytest.mark.slow
def test_quick_measurement_gives_positive_roofs():
    """A real measurement at quick sizes (a few seconds): every number positive and sourced."""
    measured = ceilings.measure(quick=True)
    assert set(measured.roofs) == {1, threads.available()}
    for n, roof in measured.roofs.items():
        assert roof.threads == n
        assert roof.bandwidth > 0 and roof.peak > 0
        assert "STREAM triad" in roof.bandwidth_source and "dgemm" in roof.peak_source
    assert measured.quick is True
    assert measured.clock_hz is None or measured.clock_hz > 0
    assert Ceilings.from_dict(json.loads(json.dumps(measured.to_dict()))) == measured


def test_float32_roof_keeps_the_bandwidth_and_takes_the_sgemm_peak():
    roofs = Ceilings("m", {1: Roof(10e9, 50e9, 1, "triad", "dgemm")}, float32_peaks={1: (100e9, "sgemm")})
    single = roofs.roof(1, "float32")
    assert (single.bandwidth, single.peak, single.peak_source) == (10e9, 100e9, "sgemm")
    assert roofs.roof(1).peak == 50e9
    assert roofs.roof(1, "float16").peak == roofs.roof(1, "bfloat16").peak == 100e9  # summed in float32
    assert Ceilings.from_dict(roofs.to_dict()).roof(1, "float32").peak == 100e9


def test_ceilings_without_a_float32_peak_say_how_to_get_one():
    with pytest.raises(HaiendError, match="remeasure"):
        Ceilings("m", {1: Roof(10e9, 50e9, 1)}).roof(1, "float32")


@pytest.mark.parametrize(
    "threads_, footprint, level, bandwidth",
    [
        (1, 16 * 2**10, "L1d", 200e9),
        (1, 2**20, "L2", 90e9),  # exactly one core's L2
        (1, 24 * 2**20, "L3", 40e9),  # the stream lab's quick size in a 32 MiB L3
        (1, 64 * 2**20, "memory", 10e9),
        (4, 3 * 2**20, "memory", 30e9),  # no level measured with 4 threads: memory's roof
    ],
)
def test_a_working_set_is_judged_by_the_level_it_fits_in(threads_, footprint, level, bandwidth):
    roof = SAMPLE.roof(threads_, footprint=footprint)
    assert (roof.level, roof.bandwidth) == (level, bandwidth)
    assert roof.peak == SAMPLE.roofs[threads_].peak
    if level != "memory":
        assert roof.bandwidth_source.startswith("C triad")


def test_private_levels_hold_each_threads_share():
    from haiend.roofline import level_of

    levels = SAMPLE.levels[1]
    assert level_of(1.5 * 2**20, 1, levels) == "L3"  # too big for one core's L2
    assert level_of(1.5 * 2**20, 2, levels) == "L2"  # two shares of 0.75 MiB fit two L2s
    assert level_of(40 * 2**20, 1, levels) == "memory"  # a shared L3 holds the whole or nothing
    assert level_of(40 * 2**20, 64, levels) == "L2"  # 64 shares of 0.625 MiB


FIXTURES = Path(__file__).parent / "fixtures" / "machines"


@pytest.mark.parametrize(
    "name, per_core, row",
    [
        ("zen3", 48e9, "Zen 3"),
        ("zen4", 48e9, "Zen 4"),  # AVX-512 accepted, two 256-bit pipes: not 96
        ("icelake_server", 96e9, "Ice Lake server"),
        ("sapphire_rapids", 96e9, "Sapphire Rapids"),
        ("neoverse_v1", 48e9, "Neoverse V1"),
    ],
)
def test_theoretical_peak_comes_from_the_table(name, per_core, row):
    info = json.loads((FIXTURES / f"{name}.json").read_text())
    result = ceilings.with_theoretical_peak(SAMPLE, info)  # SAMPLE's clock: 3 GHz
    assert result.theoretical_peak_per_core == per_core
    assert row in result.peak_note and "assumed" not in result.peak_note
    assert any(result.peak_note in line for line in result.notes())


def test_theoretical_peak_of_an_unknown_cpu_says_it_is_assumed():
    info = {"cpu_vendor": "Unknown", "cpu_model": "mystery", "simd": ["sse2", "avx", "avx2", "fma"]}
    result = ceilings.with_theoretical_peak(SAMPLE, info)
    assert result.theoretical_peak_per_core == 48e9 and "assumed" in result.peak_note
    assert ceilings.with_theoretical_peak(SAMPLE, {"simd": ["sse2"]}).theoretical_peak_per_core is None
