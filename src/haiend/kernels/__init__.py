"""The kernel registry: one computation, many realisations, each checked against a reference.

The contract that labs, tests and outside checks rely on
--------------------------------------------------------
``get(name)`` returns a :class:`Kernel`. A kernel states

* what it computes (``summary``) and how its inputs are made:
  ``kernel.make_inputs(size, seed=0)`` returns a tuple of NumPy arrays and scalars;
* the reference: ``kernel.reference(*inputs)`` returns the exact result (float64 NumPy);
* how close a realisation must come: ``kernel.check(result, expected)`` returns a
  :class:`Check` with the normwise relative error and the tolerance for the result's dtype;
* the work per call: ``kernel.bytes_moved(size)`` and ``kernel.flops(size)``;
* its sizes: ``kernel.parse_size("...")``, ``kernel.quick_size`` and
  ``kernel.default_size(machine)``, chosen from the machine's caches and free memory;
* its realisations: ``kernel.variants`` maps a name (``numpy``, ``numba``, ``c``, ...) to a
  :class:`Variant`.

A variant's ``available()`` says whether it can run here, and if not, one sentence saying
what is missing and how to get it. Calling it, ``variant(*inputs)``, returns the result as a
NumPy array. For timing, ``variant.prepare(inputs)`` returns a :class:`PreparedCall`
whose ``call()`` does only the computation: the output is allocated (and its pages touched)
beforehand, GPU inputs are copied to the device beforehand and the result is copied back
afterwards by ``result()``, never inside the timed region.

Every realisation is a function ``impl(*inputs, out)`` that writes the result into ``out`` and
returns it. Under MPI every rank calls the variant with the same inputs and rank 0 receives the
full result; the other ranks receive whatever their part was.

A *group* names several kernels run together: ``group("stream")`` is copy, scale, add and
triad; ``get("stream")`` is the triad, the STREAM figure people quote.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from haiend.errors import HaiendError
from haiend.requirements import Requirement

Size = tuple[int, ...]


@dataclass(frozen=True)
class Check:
    """The outcome of comparing a realisation's result with the reference."""

    error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.tolerance)

    def __str__(self) -> str:
        verdict = "correct" if self.passed else "WRONG"
        return f"{verdict} (relative error {self.error:.1e}, tolerance {self.tolerance:.0e})"


@dataclass
class PreparedCall:
    """One realisation bound to its inputs and output, ready to be timed.

    ``call()`` runs the computation only; ``sync`` (GPU variants) waits for the device;
    ``result()`` returns the output as a NumPy array on the host.
    """

    call: Callable[[], Any]
    result: Callable[[], np.ndarray]
    sync: Callable[[], None] | None = None


@dataclass(frozen=True)
class Variant:
    """One realisation of a kernel.

    ``impl(*inputs, out)`` computes into ``out`` and returns it. ``device`` is ``"cpu"`` or
    ``"gpu"``; ``parallel`` says whether it uses more than one thread or process;
    ``details`` holds what a learner may want to see (compiler flags, say). A ``"gpu"`` variant
    has its inputs copied to the device before timing (``haiend.kernels._gpu``); ``preparer``
    replaces the default preparation where the data must first be split (across MPI ranks).
    """

    name: str
    impl: Callable[..., Any]
    summary: str
    requires: tuple[Requirement, ...] = ()
    device: str = "cpu"
    parallel: bool = False
    uses_blas: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    preparer: Callable[[Variant, Sequence[Any]], PreparedCall] | None = None
    kernel: Kernel | None = field(default=None, repr=False, compare=False)

    def available(self) -> Availability:
        for requirement in self.requires:
            reason = requirement.missing()
            if reason is not None:
                return Availability(False, reason)
        return Availability(True, "")

    def prepare(self, inputs: Sequence[Any]) -> PreparedCall:
        """Bind the inputs and a fresh output, so that timing sees the computation only."""
        if self.kernel is None:
            raise HaiendError(f"variant {self.name!r} belongs to no kernel.")
        if self.preparer is not None:  # MPI variants split the data across ranks first
            return self.preparer(self, inputs)
        if self.device == "gpu":  # inputs to the device now, the result back in result()
            from haiend.kernels import _gpu

            return _gpu.prepare(self, inputs)
        out = self.kernel.allocate_output(*inputs)
        return PreparedCall(call=lambda: self.impl(*inputs, out), result=lambda: out)

    def __call__(self, *inputs: Any) -> np.ndarray:
        prepared = self.prepare(inputs)
        prepared.call()
        if prepared.sync is not None:
            prepared.sync()
        return prepared.result()


@dataclass(frozen=True)
class Availability:
    """Truthy when a variant can run here; ``reason`` says why not otherwise."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Kernel:
    """A computation with a reference, a tolerance, a cost model and its realisations."""

    name: str
    summary: str
    make_inputs: Callable[..., tuple[Any, ...]]
    reference: Callable[..., np.ndarray]
    allocate_output: Callable[..., np.ndarray]
    bytes_moved: Callable[[Size], float]
    flops: Callable[[Size], float]
    size_names: tuple[str, ...]
    quick_size: Size
    default_size: Callable[[Mapping[str, Any]], Size]
    footprint: Callable[[Size], float]
    tolerances: Mapping[str, float]
    variants: Mapping[str, Variant]
    # This machine's own limit for the kernel, measured in the same run: a variant of this kernel
    # ("c": compare times for the same work) or "kernel:variant" of another kernel, compared by
    # bandwidth ("stream.triad:c" for stencil2d, judged against the C STREAM triad).
    baseline: str | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        bound = {name: replace(v, kernel=self) for name, v in self.variants.items()}
        object.__setattr__(self, "variants", MappingProxyType(bound))

    def parse_size(self, text: str) -> Size:
        """Parse ``"1000000"`` or ``"512x512x20"`` into this kernel's size tuple."""
        parts = str(text).lower().replace(",", "x").split("x")
        try:
            values = tuple(int(float(p)) for p in parts)
        except ValueError:
            raise HaiendError(
                f"size {text!r} is not understood: give {'x'.join(self.size_names)} as whole numbers."
            ) from None
        if len(values) != len(self.size_names):
            raise HaiendError(
                f"kernel {self.name} takes a size of the form {'x'.join(self.size_names)}, not {text!r}."
            )
        if any(v <= 0 for v in values):
            raise HaiendError(f"size {text!r} must be positive in every dimension.")
        return values

    def size_label(self, size: Size) -> str:
        return "x".join(str(v) for v in size)

    def check(self, result: Any, expected: np.ndarray) -> Check:
        """Normwise relative error: max |result - expected| / max |expected|."""
        result = np.asarray(result)
        if result.shape != expected.shape:
            return Check(float("inf"), self.tolerance(result.dtype))
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        diff = np.abs(result.astype(np.float64) - expected.astype(np.float64))
        worst = float(np.max(diff)) if diff.size else 0.0
        if not np.isfinite(worst):
            return Check(float("inf"), self.tolerance(result.dtype))
        return Check(worst / scale if scale > 0 else worst, self.tolerance(result.dtype))

    def tolerance(self, dtype: Any) -> float:
        return self.tolerances[np.dtype(dtype).name]


class lazy:
    """A function imported on first call, so that listing kernels imports no Numba, CuPy or MPI."""

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute
        self.__name__ = attribute
        self._function: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        if self._function is None:
            self._function = getattr(importlib.import_module(self.module), self.attribute)
        return self._function

    def __call__(self, *args: Any) -> Any:
        return self.resolve()(*args)

    def __repr__(self) -> str:
        return f"{self.module}.{self.attribute}"


_REGISTRY: dict[str, str] = {
    "stream.copy": "haiend.kernels.stream:copy",
    "stream.scale": "haiend.kernels.stream:scale",
    "stream.add": "haiend.kernels.stream:add",
    "stream.triad": "haiend.kernels.stream:triad",
    "matmul.float64": "haiend.kernels.matmul:float64",
    "matmul.float32": "haiend.kernels.matmul:float32",
    "stencil2d": "haiend.kernels.stencil2d:stencil2d",
    "nbody.float64": "haiend.kernels.nbody:float64",
    "nbody.float32": "haiend.kernels.nbody:float32",
}
_ALIASES: dict[str, str] = {"stream": "stream.triad", "matmul": "matmul.float64", "nbody": "nbody.float64"}
_GROUPS: dict[str, tuple[str, ...]] = {
    "stream": ("stream.copy", "stream.scale", "stream.add", "stream.triad"),
    "matmul": ("matmul.float64", "matmul.float32"),
    "nbody": ("nbody.float64", "nbody.float32"),
}


def register(name: str, target: str, *, group: str | None = None) -> None:
    """Register a kernel by ``"module:attribute"``; it is imported on first use."""
    _REGISTRY[name] = target
    if group is not None:
        _GROUPS[group] = (*_GROUPS.get(group, ()), name)


def names() -> list[str]:
    """Every kernel name, plus the group and short names the command line accepts."""
    present = set(available_kernels())
    groups = {g for g, members in _GROUPS.items() if present.issuperset(members)}
    aliases = {a for a, target in _ALIASES.items() if target in present}
    return sorted(present | groups | aliases)


def available_kernels() -> list[str]:
    """Kernel names whose module is present (a kernel still being written is left out)."""
    present = []
    for name, target in sorted(_REGISTRY.items()):
        if importlib.util.find_spec(target.split(":")[0]) is not None:
            present.append(name)
    return present


def get(name: str) -> Kernel:
    """The kernel called ``name`` (``"stream"`` is the triad)."""
    resolved = _ALIASES.get(name, name)
    target = _REGISTRY.get(resolved)
    if target is None or resolved not in available_kernels():
        raise HaiendError(f"unknown kernel {name!r}: choose one of {', '.join(names())}.")
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def group(name: str) -> list[Kernel]:
    """The kernels a command-line name stands for: a group's members, or the one kernel."""
    if name in _GROUPS:
        return [get(member) for member in _GROUPS[name]]
    return [get(name)]
