"""Showing things in a lab: the machine, its ceilings, tables of results, and numbers for the prose.

Tables are :class:`haiend.tables.Table` objects: HTML in a notebook, aligned text in a terminal
or a test. Numbers the prose quotes are glued (myst-nb) from the values just computed, never typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haiend import ceilings as ceilings_mod
from haiend import machine, tables
from haiend.tables import Table


def display(obj: Any) -> None:
    """IPython's display in a notebook; the printed text elsewhere."""
    try:
        from IPython.display import display as ipython_display
    except ImportError:
        print(obj)
        return
    ipython_display(obj)


def show(rows: Sequence[dict[str, Any]], caption: str = "", notes: Sequence[str] = ()) -> None:
    """Display rows as a table (HTML in a notebook, text elsewhere), ``notes`` under it."""
    display(Table(rows, caption, notes))


def show_machine(info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Show the fingerprint summary (what a reader needs to interpret a figure); return it all."""
    info = info or machine.describe()
    show([{"": key, "this machine": value} for key, value in machine.summary(info)], "This machine")
    return info


def show_ceilings(roofs: ceilings_mod.Ceilings | None = None) -> ceilings_mod.Ceilings:
    """Show the measured roofs (measured at full size the first time, ~a minute, then cached)."""
    roofs = roofs or ceilings_mod.get()
    display(tables.ceilings(roofs))
    return roofs


def show_table(outcomes: Sequence[Any], caption: str = "") -> None:
    """Show :class:`haiend.bench.Outcome` s as every table of results is laid out (:mod:`haiend.tables`),
    a kernel, thread count or size shared by every row stated once under the table."""
    display(tables.results(outcomes, caption, fold=True))


def glue_value(name: str, value: Any) -> Any:
    """Glue ``value`` for the prose (``{glue:text}`name:.2f```) when myst_nb is present; return it.

    NumPy scalars become Python numbers first: NumPy 2 shows them as ``np.float64(...)``, which
    a format spec in the markdown cannot read.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    try:
        from myst_nb import glue
    except ImportError:
        return value
    glue(name, value, display=False)
    return value
