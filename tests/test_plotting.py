"""The plots draw what was measured: roofs from the ceilings, one mark per measured result."""

import matplotlib

matplotlib.use("Agg")

import pytest

from haiend import plotting
from haiend.ceilings import Ceilings
from haiend.records import Record
from haiend.roofline import Roof


def make_record(variant, flops, seconds=(1.0, 1.1, 1.2), bytes_moved=24e9, threads=1):
    return Record(
        kernel="stream.triad", variant=variant, size=[10**9], dtype="float64", threads=threads,
        times=list(seconds), warmup_times=[], cold_time=2.0, batch=1, clock="perf_counter",
        bytes_moved=bytes_moved, flops=flops, roof={},
        error=0.0, tolerance=1e-14, correct=True, machine_id="m", machine={},
    )


@pytest.fixture
def ceilings():
    return Ceilings("m", {1: Roof(10e9, 50e9, 1), 2: Roof(15e9, 100e9, 2)}, clock_hz=3e9, theoretical_peak_per_core=96e9)


def test_roofline_draws_each_roof_and_places_each_result(ceilings):
    fig = plotting.roofline(ceilings, [make_record("numba", 2e9), make_record("c", 2e9)])
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert sum(label.startswith("roof,") for label in labels) == 2
    assert any("theoretical" in label for label in labels)
    points = [line for line in ax.get_lines() if "stream.triad / " in line.get_label()]
    assert len(points) == 2
    x, y = points[0].get_data()
    assert x[0] == pytest.approx(2e9 / 24e9) and y[0] == pytest.approx(2e9 / 1.1 / 1e9)


def test_roofline_lists_zero_flop_results_instead_of_placing_them(ceilings):
    fig = plotting.roofline(ceilings, [make_record("copy", 0.0)])
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any(label.startswith("not placed (no flops): 1 result") for label in labels)


def test_compare_bars_use_the_median_and_quartiles(ceilings):
    fig = plotting.compare([make_record("numba", 2e9, seconds=(1.0, 2.0, 4.0))])
    bars = fig.axes[0].patches
    assert len(bars) == 1
    assert bars[0].get_width() == pytest.approx(24e9 / 2.0 / 1e9)


def test_save_writes_png_and_svg(tmp_path, ceilings):
    paths = plotting.save(plotting.roofline(ceilings, []), tmp_path / "roof")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and b"<svg" in paths[1].read_bytes()[:400]


def test_float32_roofline_uses_the_sgemm_peak():
    roofs = Ceilings("m", {1: Roof(10e9, 50e9, 1)}, float32_peaks={1: (100e9, "sgemm")})
    fig = plotting.roofline(roofs, [], dtype="float32")
    (roof_line,) = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("roof,")]
    assert max(roof_line.get_ydata()) == pytest.approx(100.0)


def test_many_results_of_several_kernels_get_a_legend_by_variant_and_kernel(ceilings):
    from dataclasses import replace

    variants = ("numpy", "numba", "numba_parallel", "c", "mpi")
    kernels = ("stream.scale", "stream.add", "stream.triad")
    results = [replace(make_record(v, 2e9 + i), kernel=k) for k in kernels for i, v in enumerate(variants)]
    fig = plotting.roofline(ceilings, results, legend="below")
    ax = fig.axes[0]
    entries = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [e for e in entries if not e.startswith(("roof,", "theoretical"))] == [*variants, *kernels]
    placed = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(placed) == len(variants) * len(kernels)  # every result is still a point
    assert len({line.get_color() for line in placed}) == len(variants)
    assert len({line.get_marker() for line in placed}) == len(kernels)
