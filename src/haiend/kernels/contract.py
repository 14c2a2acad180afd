"""The kernel contract: a :class:`Kernel` (its specification and functions) and its :class:`Variant` s.

See ``haiend.kernels`` for what labs, tests and outside checks may rely on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from haiend.errors import HaiendError
from haiend.kernels.calls import Availability, Check, PreparedCall
from haiend.kernels.kinds import KINDS, NOTEBOOK, Kind, Realisation
from haiend.kernels.spec import Specification
from haiend.requirements import Requirement

Size = tuple[int, ...]


@dataclass(frozen=True)
class Variant:
    """One realisation of a kernel.

    ``impl(*inputs, out)`` computes into ``out`` and returns it. ``kind`` (a
    :class:`haiend.kernels.kinds.Kind`) says how its calls are prepared; ``device`` and
    ``spreads`` (``None``, ``"threads"`` or ``"ranks"``) come from the kind unless the kernel
    says otherwise; ``details`` holds what a learner may want to see (compiler flags, say).
    """

    name: str
    impl: Callable[..., Any]
    summary: str
    requires: tuple[Requirement, ...] = ()
    kind: Kind = KINDS["numpy"]
    spreads: str | None = None
    uses_blas: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    kernel: Kernel | None = field(default=None, repr=False, compare=False)

    @property
    def device(self) -> str:
        return self.kind.device

    @property
    def parallel(self) -> bool:
        """Whether it spreads over more than one thread or process."""
        return self.spreads is not None

    def available(self) -> Availability:
        for requirement in self.requires:
            reason = requirement.missing()
            if reason is not None:
                return Availability(False, reason)
        return Availability(True, "")

    def uses(self, threads: int, ranks: int) -> tuple[int, int]:
        """(threads, ranks) this variant really uses when ``threads`` are allowed and ``ranks`` run.

        A rank runs the serial loop on its block, so an MPI variant uses one thread per rank; a
        variant that spreads over nothing uses one thread and one rank.
        """
        if self.spreads == "ranks":
            return 1, ranks
        if self.spreads == "threads":
            return threads, 1
        return 1, 1

    def prepare(self, inputs: Sequence[Any]) -> PreparedCall:
        """Bind the inputs and a fresh output, so that timing sees the computation only."""
        if self.kernel is None:
            raise HaiendError(f"variant {self.name!r} belongs to no kernel.")
        return self.kind.prepare(self, inputs)

    def __call__(self, *inputs: Any) -> np.ndarray:
        prepared = self.prepare(inputs)
        prepared.call()
        if prepared.sync is not None:
            prepared.sync()
        return prepared.result()


@dataclass(frozen=True)
class Kernel:
    """A computation: its specification (data), and the functions that make and check its results.

    ``spec`` (:class:`haiend.kernels.spec.Specification`) is the one source of the name, the
    counts of bytes and flops, the tolerances, the sizes and the baseline; the attributes below
    read them from it. ``check_sizes`` are the spec's awkward sizes every realisation is checked
    at by the contract tests (odd, tiny, uneven across ranks, not a multiple of any block), with
    the quick size added.
    """

    spec: Specification
    make_inputs: Callable[..., tuple[Any, ...]]
    reference: Callable[..., np.ndarray]
    allocate_output: Callable[..., np.ndarray]
    default_size: Callable[[Mapping[str, Any]], Size]
    footprint: Callable[[Size], float]
    variants: Mapping[str, Variant]
    notes: str = ""

    def __post_init__(self) -> None:
        bound = {name: replace(v, kernel=self) for name, v in self.variants.items()}
        object.__setattr__(self, "variants", MappingProxyType(bound))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def summary(self) -> str:
        return self.spec.summary

    @property
    def size_names(self) -> tuple[str, ...]:
        return self.spec.size_names

    @property
    def quick_size(self) -> Size:
        return self.spec.quick_size

    @property
    def check_sizes(self) -> tuple[Size, ...]:
        return tuple(dict.fromkeys((*self.spec.check_sizes, self.spec.quick_size)))

    @property
    def baseline(self) -> str | None:
        """This machine's own limit for the kernel, measured in the same run: a variant of this
        kernel (compare times for the same work) or "kernel:variant" of another kernel, compared by
        bandwidth ("stream.triad:c" for stencil2d, judged against the C STREAM triad)."""
        return self.spec.baseline

    @property
    def tolerances(self) -> Mapping[str, float]:
        return MappingProxyType({dtype: t.value for dtype, t in self.spec.tolerances.items()})

    def bytes_moved(self, size: Size) -> float:
        """Bytes counted for one call: the spec's ``bytes_counted`` at ``size``."""
        return self.spec.bytes_moved(size)

    def flops(self, size: Size) -> float:
        """Flops counted for one call: the spec's ``flops_counted`` at ``size``."""
        return self.spec.flops(size)

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
        """Normwise relative error, max |result - expected| / max |expected| (``spec.CHECK_RULE``)."""
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
        """The spec's tolerance for ``dtype`` (KeyError for a dtype the spec does not state)."""
        return self.spec.tolerances[np.dtype(dtype).name].value


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


def variants(package: str, function: str, *listed: Realisation) -> dict[str, Variant]:
    """The variants of the kernel in ``package``, from its list of realisations.

    Each realisation calls ``function`` (or the one it names) in the kind's file of ``package``,
    imported on first call, so that listing kernels imports no Numba, CuPy or MPI.
    """
    made: dict[str, Variant] = {}
    for r in listed:
        kind = KINDS[r.kind]
        name = r.name or r.kind
        if name in made:
            raise ValueError(f"{package} lists two realisations called {name!r}")
        made[name] = Variant(
            name=name,
            impl=lazy(f"{package}.{kind.module}", r.function or function),
            summary=r.summary,
            kind=kind,
            requires=kind.requires + r.also_requires,
            spreads=r.spreads if r.spreads is not None else kind.spreads,
            uses_blas=r.uses_blas,
            details=r.details,
        )
    return made


def written_in_notebook(
    kernel: Kernel,
    function: Callable[..., Any],
    name: str = "",
    summary: str = "",
    *,
    parallel: bool = False,
    details: Mapping[str, Any] | None = None,
) -> Variant:
    """A variant for ``function(*inputs, out)`` written by a learner, bound to ``kernel``.

    It is judged, and timed, by what it returns (kind ``notebook``), so a function that
    allocates its result is measured as it is; ``parallel`` says that it spreads over threads.
    """
    name = name or getattr(function, "__name__", "mine")
    return Variant(
        name,
        function,
        summary or f"{name} (written in this notebook)",
        kind=NOTEBOOK,
        spreads="threads" if parallel else None,
        details=dict(details or {}),
        kernel=kernel,
    )
