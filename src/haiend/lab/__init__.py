"""What a lab notebook needs, in one place, so that the labs do not repeat it.

A lab shows the machine and its ceilings, checks every realisation before timing any, measures
through :func:`haiend.bench.run`, shows tables, and glues the numbers its prose quotes::

    from haiend import lab
    info = lab.show_machine()
    roofs = lab.show_ceilings()                        # measured once per machine, then cached
    lab.check_all("stream.triad")                       # correct before fast
    outcomes = lab.measure("stream", ceilings=roofs)    # saved as records, returned as outcomes
    lab.show_table(outcomes)
    lab.glue_value("triad_c_gbs", lab.find(outcomes, "stream.triad", "c").gb_per_s)

One idea per module, gathered here so that a notebook imports one name:

* :mod:`haiend.lab.show`: the machine, the ceilings, tables, values glued for the prose;
* :mod:`haiend.lab.measure`: checking every variant, measuring (here or under ``mpiexec``),
  finding an outcome, ratios;
* :mod:`haiend.grading`: whether an exercise is still a stub, and whether its answer is right;
* :mod:`haiend.recompile`: a Numba function built again with some of its globals replaced.

Sizes follow ``HAIEND_SIZE`` (:mod:`haiend.sizes`). Nothing here measures or plots by itself:
timing is :mod:`haiend.bench`, plots are :mod:`haiend.plotting`, machine facts are
:mod:`haiend.machine`, tables are :mod:`haiend.tables`.
"""

from haiend.grading import check_exercise, is_stub
from haiend.lab.measure import (
    check_all,
    find,
    measure,
    measure_function,
    mpi_bench,
    ratio,
    size_for,
    unavailable,
)
from haiend.lab.show import display, glue_value, show, show_ceilings, show_machine, show_table
from haiend.recompile import recompiled
from haiend.tables import Table

__all__ = [
    "Table",
    "check_all",
    "check_exercise",
    "display",
    "find",
    "glue_value",
    "is_stub",
    "measure",
    "measure_function",
    "mpi_bench",
    "ratio",
    "recompiled",
    "show",
    "show_ceilings",
    "show_machine",
    "show_table",
    "size_for",
    "unavailable",
]
