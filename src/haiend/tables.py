"""Tables of results: the one place that turns outcomes, records and ceilings into rows and shows them.

``haiend bench``, ``haiend report``, ``haiend roofline``, the labs and the MPI demos all show
their figures through this module, so a column means the same thing everywhere::

    table = tables.results(outcomes)        # measured variants as rows, the others as notes
    print(table)                             # aligned text (a terminal, a test, a batch log)
    table                                    # HTML in a notebook

A variant that did not run, or ran wrong, is not a row full of blanks: it is one line under the
table, with its reason, so that the figures stay in view.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from haiend.timing import format_seconds


class Table:
    """Rows of strings with a caption and notes: HTML in a notebook, aligned text elsewhere."""

    def __init__(self, rows: Sequence[dict[str, Any]], caption: str = "", notes: Sequence[str] = ()) -> None:
        self.rows = [{k: str(v) for k, v in row.items()} for row in rows]
        self.caption = caption
        self.notes = list(notes)
        self.columns = list(dict.fromkeys(key for row in self.rows for key in row))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(row.get(c, ''))}</td>" for c in self.columns) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        table = (
            f'<table class="table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            if self.rows
            else ""
        )
        notes = "".join(f'<p class="haiend-table-note">{html.escape(n)}</p>' for n in self.notes)
        return f'<div class="haiend-table">{table}{notes}</div>'

    def __str__(self) -> str:
        lines = [self.caption] if self.caption else []
        if self.rows:
            widths = {c: max(len(c), *(len(row.get(c, "")) for row in self.rows)) for c in self.columns}
            lines.append("  ".join(c.ljust(widths[c]) for c in self.columns).rstrip())
            lines += [
                "  ".join(row.get(c, "").ljust(widths[c]) for c in self.columns).rstrip() for row in self.rows
            ]
        lines += self.notes
        return "\n".join(lines)

    __repr__ = __str__


FOLDABLE = ("kernel", "threads", "size")  # columns a page can state once when every row agrees


def results(
    outcomes: Iterable[Any], caption: str = "", *, machine: bool = False, fold: bool = False
) -> Table:
    """Measured outcomes (:class:`haiend.bench.Outcome`) as rows; the others as one note per reason.

    Columns: threads (threads x ranks), GB/s and GFLOP/s from the median time, the fraction of
    this machine's roof with the level of the memory hierarchy the data fits in (its bandwidth
    makes the roof: "0.82 (L3)"), the speed relative to the kernel's baseline measured in the
    same run, the median and spread (interquartile range over the median) of the warm calls, the
    cold (first, compiling) call, the size, and the energy of one call (``mJ/call``, millijoules; one note under
    the table says how it was found, and a table mixing methods marks estimates "est."). ``machine=True`` adds the machine id and the time
    of measurement (reports over many machines).
    """
    rows: list[dict[str, str]] = []
    not_run: list[tuple[str, str]] = []
    wrong: list[str] = []
    energy_notes: dict[str, None] = {}
    outcomes = list(outcomes)
    methods = {o.record.energy.get("method") for o in outcomes if o.status == "measured" and o.record.energy}
    mixed = {"measured", "estimated"} <= methods  # then an estimate is marked in its cell too
    for o in outcomes:
        if o.status == "skipped":
            not_run.append((o.variant, o.reason))
            continue
        if o.status != "measured":
            wrong.append(f"{o.kernel}/{o.variant} at {_size(o.size)} is {o.reason}: not timed.")
            continue
        r = o.record
        row = {"machine": r.machine_id} if machine else {}
        row.update(  # the figures of merit first, so that a narrow page still shows them
            kernel=o.kernel,
            variant=o.variant,
            threads=str(r.threads * r.ranks),
            **{"GB/s": f"{r.gb_per_s:.2f}", "GFLOP/s": f"{r.gflop_per_s:.2f}"},
            roof=_roof(r),
            vs_baseline=_fraction(o.baseline_ratio),
            median=format_seconds(r.median_s),
            spread="-" if o.timing is None else f"{100 * o.timing.spread:.1f}%",
            cold=format_seconds(r.cold_time),
            size=_size(o.size),
            **{"mJ/call": _energy(r, mixed=mixed)},
        )
        if r.energy:
            energy_notes.setdefault(_energy_note(r), None)
        if machine:
            row["when"] = r.timestamp[:19]
        rows.append(row)
    notes = []
    if fold and rows:
        shared = [c for c in FOLDABLE if len({row[c] for row in rows}) == 1]
        if shared:
            notes.append("Every row: " + ", ".join(f"{c} {rows[0][c]}" for c in shared) + ".")
            rows = [{k: v for k, v in row.items() if k not in shared} for row in rows]
    notes += [f"WRONG: {line}" for line in wrong]
    return Table(rows, caption, notes + list(energy_notes) + not_run_notes(not_run))


def not_run_notes(skipped: Iterable[tuple[str, str]]) -> list[str]:
    """One line per reason for the (variant, reason) pairs that could not run here: a requirement
    is the variant's, so a variant skipped for every kernel of a group is named once."""
    by_reason: dict[str, list[str]] = {}
    for variant, reason in skipped:
        names = by_reason.setdefault(reason, [])
        if variant not in names:
            names.append(variant)
    return [f"Not run here: {', '.join(names)}: {reason}" for reason, names in by_reason.items()]


def _energy(record: Any, *, mixed: bool) -> str:
    """Millijoules per call (short numbers keep the table within the page); "-" when the run was not
    metered or nothing is known. The note under the table says how they were found; only in a table
    that mixes methods is an estimate marked "est."."""
    joules = record.joules_per_call
    if joules is None:
        return "-"
    return f"{joules * 1e3:.3g}" + (" est." if mixed and record.energy["method"] == "estimated" else "")


def _energy_note(record: Any) -> str:
    """One sentence on how the energy column was found out, shown once under a table."""
    e = record.energy
    idle = e.get("idle") or {}
    idle_said = (
        f"; idle baseline {idle['watts']:.3g} W ({idle['method']})" if idle.get("watts") is not None else ""
    )
    if e["method"] == "measured":
        return f"mJ/call measured: {e['scope']}, by {e['source']}{idle_said}."
    if e["method"] == "estimated":
        return (
            f"mJ/call estimated, not measured ({e['reason']}): {'; '.join(e['assumptions'])}{idle_said}."
            " Two variants that run as long on as many threads get the same estimate."
        )
    return f"Energy not known: {e['reason']}."


def ceilings(measured: Any, caption: str | None = None) -> Table:
    """The roofs of a :class:`haiend.ceilings.Ceilings`, one row per thread count, sources as notes.

    The bandwidth column is memory's; each cache level measured has a column of its own.
    """
    rows = [
        {
            "threads": str(n),
            "bandwidth GB/s": f"{roof.bandwidth / 1e9:.1f}",
            "peak GFLOP/s": f"{roof.peak / 1e9:.1f}",
            "ridge flop/byte": f"{roof.ridge:.2f}",
            **{f"{lv.name} GB/s": f"{lv.bandwidth / 1e9:.1f}" for lv in measured.levels.get(n, ())},
        }
        for n, roof in sorted(measured.roofs.items())
    ]
    if caption is None:
        quick = ", quick sizes" if measured.quick else ""
        caption = f"Ceilings of {measured.machine_id} (measured {measured.measured_at[:19]}{quick})"
    return Table(rows, caption, measured.notes())


def _roof(record: Any) -> str:
    """The fraction of the roof, and the level of the hierarchy whose bandwidth made the roof."""
    fraction = _fraction(record.fraction_of_roof)
    level = (record.roof or {}).get("level")
    return f"{fraction} ({level})" if level and fraction != "-" else fraction


def _size(size: Sequence[int]) -> str:
    return "x".join(str(v) for v in size)


def _fraction(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
