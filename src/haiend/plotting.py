"""Plots: the only module that imports matplotlib.

* ``roofline(ceilings, results)``: this machine's measured roofs, with every measured variant
  placed at its arithmetic intensity and achieved GFLOP/s.
* ``compare(results)``: one bar per variant with the spread of its repeats as error bars.
* ``rooflines_side_by_side(panels)``: several machines' rooflines on shared axes, one panel each;
  ``roofs_overlaid(groups)``: many machines' roofs, one panel per group (architecture class).
* ``save(fig, stem)``: PNG and SVG side by side.

``results`` may be :class:`haiend.records.Record` objects or the outcomes of
:func:`haiend.bench.run`; anything skipped or wrong is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from haiend.ceilings import Ceilings
from haiend.records import Record

MARKERS = "osD^v<>pP*Xh"


def _records(results: Iterable[Any]) -> list[Record]:
    out = []
    for item in results:
        record = item if isinstance(item, Record) else getattr(item, "record", None)
        if record is not None:
            out.append(record)
    return out


def _spread(record: Record) -> str:
    """ ", 2 ranks", ", 4 threads", ", 2 ranks x 2 threads" or nothing for one thread."""
    if record.ranks > 1:
        return f", {record.ranks} ranks" + (f" x {record.threads} threads" if record.threads > 1 else "")
    return f", {record.threads} threads" if record.threads > 1 else ""


def _label(record: Record) -> str:
    return f"{record.kernel} / {record.variant}{_spread(record)}"


# Beyond this many results of several kernels, a legend entry per point is too small to read:
# colour then stands for the variant and the marker for the kernel (the table has the figures).
ONE_ENTRY_EACH_UP_TO = 10


def _variant_label(record: Record) -> str:
    return f"{record.variant}{_spread(record)}"


def _place_encoded(ax, records: list[Record], kernels: list[str]) -> None:
    """Place many results legibly: one colour per variant, one marker per kernel, one legend
    entry for each colour and each marker rather than one per point."""
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(_variant_label(r) for r in records))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colour = {v: colours[i % len(colours)] for i, v in enumerate(variants)}
    marker = {k: MARKERS[i % len(MARKERS)].lstrip("-") for i, k in enumerate(kernels)}
    for record in records:
        ax.plot(
            record.intensity,
            record.gflop_per_s,
            linestyle="none",
            marker=marker[record.kernel],
            color=colour[_variant_label(record)],
            markersize=8,
        )
    for v in variants:
        ax.plot([], [], "s", color=colour[v], label=v)
    for k in kernels:
        ax.plot([], [], linestyle="none", marker=marker[k], color="dimgrey", label=k)


def roofline(
    ceilings: Ceilings,
    results: Iterable[Any] = (),
    *,
    threads: Sequence[int] | None = None,
    ax=None,
    title: str | None = None,
    legend: str = "inside",
    dtype: str = "float64",
):
    """Draw the roofs for ``threads`` (default: every measured count) and place each result.

    ``legend="below"`` puts the legend under the axes, for charts with many results; beyond
    ``ONE_ENTRY_EACH_UP_TO`` results of several kernels, colour stands for the variant and the
    marker for the kernel, so that the legend stays short enough to read;
    ``dtype="float32"`` draws the float32 roofs (the measured sgemm peak).

    The bandwidth roofs of the cache levels (grey, measured with the smallest thread count
    drawn) sit above memory's: a result whose data fits a cache is judged against that level's
    roof (its record says which), not memory's.

    Pure data movement (zero flops, STREAM copy) has no place on a flop/s axis and is listed
    in the legend as left out, rather than drawn somewhere misleading.
    """
    import matplotlib.pyplot as plt

    records = _records(results)
    own_figure = ax is None
    if ax is None:
        legend_rows = (len(records) + len(ceilings.roofs) + 2) // 2 if legend == "below" else 0
        fig, ax = plt.subplots(figsize=(7.5, 5 + 0.22 * legend_rows), layout="constrained")
    else:
        fig = ax.figure
    counts = sorted(threads) if threads is not None else sorted(ceilings.roofs)
    intensities = [r.intensity for r in records if r.flops > 0]
    lo = min([1 / 16, *[i / 2 for i in intensities]])
    hi = max([64.0, *[i * 2 for i in intensities]])
    x = np.geomspace(lo, hi, 256)
    for n, style in zip(counts, ("-", "--", ":", "-."), strict=False):  # at most four roofs drawn
        roof = ceilings.roof(n, dtype)
        y = np.minimum(roof.peak, roof.bandwidth * x) / 1e9
        ax.plot(
            x,
            y,
            style,
            color="black",
            linewidth=1.5,
            label=f"roof, {n} thread(s): {roof.bandwidth / 1e9:.1f} GB/s, {roof.peak / 1e9:.1f} GFLOP/s",
        )
    first = counts[0] if counts else None
    for level, shade in zip(ceilings.levels.get(first, ()), ("0.55", "0.65", "0.75", "0.85"), strict=False):
        # the hierarchical roofline: a working set in a cache is judged by that cache's bandwidth
        peak = ceilings.roof(first, dtype).peak
        ax.plot(
            x,
            np.minimum(peak, level.bandwidth * x) / 1e9,
            "-",
            color=shade,
            linewidth=1.0,
            label=f"{level.name}, {first} thread(s): {level.bandwidth / 1e9:.0f} GB/s",
        )
    if ceilings.theoretical_peak_per_core and dtype == "float64":
        ax.axhline(
            ceilings.theoretical_peak_per_core / 1e9,
            color="grey",
            linestyle=":",
            label=f"theoretical FP64 peak, 1 core: {ceilings.theoretical_peak_per_core / 1e9:.0f} GFLOP/s",
        )
    left_out = [r for r in records if r.flops <= 0]
    placed = [r for r in records if r.flops > 0]
    kernels = list(dict.fromkeys(r.kernel for r in placed))
    if len(placed) > ONE_ENTRY_EACH_UP_TO and len(kernels) > 1:
        _place_encoded(ax, placed, kernels)
    else:
        for i, record in enumerate(placed):
            ax.plot(
                record.intensity,
                record.gflop_per_s,
                MARKERS[i % len(MARKERS)],
                markersize=8,
                label=f"{_label(record)}: {record.gflop_per_s:.2f} GFLOP/s",
            )
    if left_out:
        kernels_left_out = ", ".join(sorted({r.kernel for r in left_out}))
        ax.plot([], [], " ", label=f"not placed (no flops): {len(left_out)} result(s) of {kernels_left_out}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (flop / byte)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title or f"Roofline of {ceilings.machine_id}")
    ax.grid(True, which="both", alpha=0.3)
    if legend == "below" and own_figure:  # outside the axes, so that many results hide no point
        fig.legend(fontsize="small", loc="outside lower center", ncol=2)
    elif legend == "below":  # one panel of the caller's figure: keep the legend with its axes
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    else:
        ax.legend(fontsize="small", loc="lower right")
    return fig


def compare(results: Iterable[Any], *, metric: str = "gb_per_s", ax=None, title: str | None = None):
    """Bars of ``metric`` ("gb_per_s" or "gflop_per_s") from the median time, whiskers from the
    fastest and slowest quartile of the repeats, so the spread is visible next to the figure."""
    import matplotlib.pyplot as plt

    records = _records(results)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.45 * max(1, len(records))), layout="constrained")
    else:
        fig = ax.figure
    work = {"gb_per_s": lambda r: r.bytes_moved / 1e9, "gflop_per_s": lambda r: r.flops / 1e9}[metric]
    labels, values, low, high = [], [], [], []
    for record in records:
        times = np.asarray(record.times)
        rate = work(record) / np.median(times)
        labels.append(_label(record))
        values.append(rate)
        low.append(rate - work(record) / np.percentile(times, 75))
        high.append(work(record) / np.percentile(times, 25) - rate)
    positions = np.arange(len(records))
    ax.barh(positions, values, xerr=[low, high], capsize=3, color="tab:blue", alpha=0.8)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    for y, value, above in zip(positions, values, high, strict=True):
        ax.annotate(f"  {value:.2f}", (value + above, y), va="center", fontsize="small")
    ax.set_xlim(0, 1.15 * max((v + h for v, h in zip(values, high, strict=True)), default=1.0))
    ax.set_xlabel(
        {
            "gb_per_s": "GB/s (median; whiskers: interquartile range)",
            "gflop_per_s": "GFLOP/s (median; whiskers: interquartile range)",
        }[metric]
    )
    if title:
        ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def _grid(count: int, columns: int, *, panel_height: float):
    """A figure of ``count`` panels on shared axes, ``columns`` wide; the unused panels hidden."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(6.5 * columns, panel_height * rows),
        sharex=True,
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    return fig, axes


def rooflines_side_by_side(
    panels: Sequence[tuple[str, Ceilings, Sequence[Any]]], *, threads: int = 1, columns: int = 2
):
    """One roofline per machine (title, its ceilings, its results), on shared axes so that the
    panels compare at a glance: the same point higher up is the same figure, faster."""
    fig, axes = _grid(len(panels), columns, panel_height=5.8)
    for ax, (title, ceilings, results) in zip(axes.flat, panels, strict=False):
        roofline(ceilings, results, threads=[threads], ax=ax, title=title, legend="below")
    return fig


def roofs_overlaid(groups: dict[str, Sequence[tuple[str, Ceilings]]], *, threads: int = 1, columns: int = 2):
    """One panel per group: every machine's roof at ``threads`` as a thin line, for a catalogue
    with too many machines to give each a panel. A group's spread of roofs is visible at once."""
    fig, axes = _grid(len(groups), columns, panel_height=4.5)
    x = np.geomspace(1 / 16, 64.0, 256)
    for ax, (group, machines) in zip(axes.flat, groups.items(), strict=False):
        for label, ceilings in machines:
            roof = ceilings.roof(threads)
            ax.plot(x, np.minimum(roof.peak, roof.bandwidth * x) / 1e9, linewidth=1.0, alpha=0.7, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{group}: {len(machines)} machine(s), {threads} thread(s)")
        ax.set_xlabel("arithmetic intensity (flop / byte)")
        ax.set_ylabel("GFLOP/s")
        ax.grid(True, which="both", alpha=0.3)
        if len(machines) <= 8:  # beyond that a legend hides the lines; the tables name the machines
            ax.legend(fontsize="small", loc="lower right")
    return fig


def save(fig, stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; returns both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path, dpi=150 if path.suffix == ".png" else None)
    return paths
