"""Kernels: one computation, many realisations, each checked against a reference.

The contract that labs, tests and outside checks rely on
--------------------------------------------------------
``get(name)`` returns a :class:`Kernel`: one computation. Its ``spec`` (a
:class:`Specification`, :mod:`haiend.kernels.spec`) states as data what is computed, how inputs
are made, the sizes, the tolerance per dtype with its rationale, the figure of merit, the bytes
and flops counted (expressions over the size names), the baseline, the timing rules and what a
contributed variant may and must not change; ``spec.to_markdown()`` and ``haiend spec NAME``
show it, and the attributes below that come from it are read from it, never written twice.
The kernel states

* what it computes (``summary``, from the spec) and how its inputs are made:
  ``kernel.make_inputs(size, seed=0)`` returns a tuple of NumPy arrays and scalars;
* the reference: ``kernel.reference(*inputs)`` returns the exact result (float64 NumPy);
* how close a realisation must come: ``kernel.check(result, expected)`` returns a
  :class:`Check` with the normwise relative error and the tolerance for the result's dtype;
* the work per call: ``kernel.bytes_moved(size)`` and ``kernel.flops(size)`` (the spec's
  expressions evaluated) and the memory it needs, ``kernel.footprint(size)``;
* its sizes: ``kernel.parse_size("...")``, ``kernel.quick_size``, ``kernel.check_sizes`` (the
  awkward ones every realisation is tested at) and ``kernel.default_size(machine)``, chosen from
  the machine's caches and free memory by the rule the spec states in words;
* its ``baseline``: this machine's own limit for it, measured in the same run;
* its realisations: ``kernel.variants`` maps a name (``numpy``, ``numba``, ``c``, ...) to a
  :class:`Variant`.

A variant's ``kind`` (:mod:`haiend.kernels.kinds`, one table for every kernel) says what it
needs, where it runs, whether it spreads over threads or ranks and how its calls are prepared.
``available()`` says whether it can run here, and if not, one sentence saying what is missing
and how to get it. Calling it, ``variant(*inputs)``, returns the result as a NumPy array. For
timing, ``variant.prepare(inputs)`` returns a :class:`PreparedCall` whose ``call()`` does only
the computation: the output is allocated (and its pages touched) beforehand, GPU inputs are
copied to the device beforehand and the result is copied back afterwards by ``result()``, never
inside the timed region.

Every realisation is a function ``impl(*inputs, out)`` that writes the result into ``out`` and
returns it. Under MPI every rank calls the variant with the same inputs and rank 0 receives the
full result; the other ranks receive whatever their part was.

Kernels are found, not listed (:mod:`haiend.kernels.registry`): a package here with a
``KERNELS`` tuple is a kernel package. ``group("stream")`` is copy, scale, add and triad;
``get("stream")`` is the triad, the STREAM figure people quote.

Layers, lowest first: ``calls`` (checks, prepared calls) and ``spec`` (specifications),
``_gpu`` and ``kinds`` (how calls are prepared), ``contract`` (Kernel, Variant), ``registry``
(discovery). No module imports one above it.
"""

from haiend.kernels.calls import Availability, Check, PreparedCall
from haiend.kernels.contract import Kernel, Size, Variant, lazy, variants, written_in_notebook
from haiend.kernels.kinds import KINDS, Kind, realisation
from haiend.kernels.registry import get, group, kernel_names, names
from haiend.kernels.spec import TIMING, Specification, Tolerance

__all__ = [
    "KINDS",
    "Availability",
    "Check",
    "Kernel",
    "Kind",
    "PreparedCall",
    "Size",
    "Specification",
    "TIMING",
    "Tolerance",
    "Variant",
    "get",
    "group",
    "kernel_names",
    "lazy",
    "names",
    "realisation",
    "variants",
    "written_in_notebook",
]
