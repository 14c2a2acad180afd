"""Realisation kinds as data: what every ``numpy``, ``numba``, ``c``, ``cuda`` or ``mpi`` file shares.

A kernel has several realisations, and realisations of the same kind behave alike whatever the
kernel: a ``c`` realisation needs a C compiler and spreads over threads, a ``cuda`` one runs on
a GPU and has its inputs copied there before timing, an ``mpi`` one spreads over ranks and has
the work split by its own module. This table says so once, for every kernel:

==============  =======================  ======  ========  =================================
kind            file                     device  spreads   inputs prepared
==============  =======================  ======  ========  =================================
numpy           numpy_impl.py            cpu     -         on the host
numba           numba_impl.py            cpu     -         on the host
numba_parallel  numba_parallel_impl.py   cpu     threads   on the host
c               c_impl.py (and its .c)   cpu     threads   on the host
cupy            cupy_impl.py             gpu     -         copied to the device
cuda            cuda_impl.py             gpu     -         copied to the device
mpi             mpi_impl.py              cpu     ranks     split by the module's ``prepare``
==============  =======================  ======  ========  =================================

A kernel package lists its realisations with :func:`realisation` (kind, summary, and only what
differs from the kind: another name, another function, extra requirements) and turns them into
variants with :func:`haiend.kernels.variants`. Code that must know how a variant behaves asks it
(``variant.kind.spreads == "ranks"``), never its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haiend import requirements as req
from haiend.kernels import _gpu
from haiend.kernels.calls import PreparedCall

if TYPE_CHECKING:  # the contract builds on this module, not the other way round
    from haiend.kernels.contract import Variant

HOST, DEVICE, SPLIT, RETURNED = "host", "device", "split", "returned"


@dataclass(frozen=True)
class Kind:
    """What every realisation of one kind shares.

    ``module`` is the file's name in the kernel's package; ``requires`` what it needs to run;
    ``device`` ``"cpu"`` or ``"gpu"``; ``spreads`` ``None``, ``"threads"`` or ``"ranks"``;
    ``inputs`` how a call is prepared before timing: ``"host"`` (output allocated and touched),
    ``"device"`` (inputs copied to the GPU, the result copied back after timing), ``"split"``
    (the realisation module's ``prepare(variant, inputs)`` gives each MPI rank its part) or
    ``"returned"`` (on the host, the result being what the function returns: a function written
    in a notebook may allocate its result, ``return b + s * c``, and is judged as it is).
    """

    name: str
    module: str
    requires: tuple[req.Requirement, ...]
    device: str = "cpu"
    spreads: str | None = None
    inputs: str = HOST

    def prepare(self, variant: Variant, inputs: Sequence[Any]) -> PreparedCall:
        """Bind ``variant`` to ``inputs`` and a fresh output, so that timing sees the computation only."""
        if self.inputs == DEVICE:
            return _gpu.prepare(variant, inputs)
        if self.inputs == SPLIT:
            module = importlib.import_module(variant.impl.module)
            return module.prepare(variant, inputs)
        out = variant.kernel.allocate_output(*inputs)
        if self.inputs == RETURNED:  # judged, and timed, by what it returns, even a fresh array
            last: list[Any] = [out]

            def call() -> None:
                last[0] = variant.impl(*inputs, out)

            return PreparedCall(call=call, result=lambda: last[0])
        return PreparedCall(call=lambda: variant.impl(*inputs, out), result=lambda: out)


KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("numpy", "numpy_impl", ()),
        Kind("numba", "numba_impl", (req.NUMBA,)),
        Kind("numba_parallel", "numba_parallel_impl", (req.NUMBA,), spreads="threads"),
        Kind("c", "c_impl", (req.C_COMPILER,), spreads="threads"),
        Kind("cupy", "cupy_impl", (req.CUPY_GPU,), device="gpu", inputs=DEVICE),
        Kind("cuda", "cuda_impl", (req.NUMBA_CUDA,), device="gpu", inputs=DEVICE),
        Kind("mpi", "mpi_impl", (req.MPI,), spreads="ranks", inputs=SPLIT),
    )
}
# A function written in a notebook (haiend.lab): on the host, judged by what it returns.
NOTEBOOK = Kind("notebook", "", (), inputs=RETURNED)


@dataclass(frozen=True)
class Realisation:
    """One line of a kernel's list of realisations: the kind, and only what differs from it."""

    kind: str
    summary: str
    name: str = ""
    function: str = ""
    also_requires: tuple[req.Requirement, ...] = ()
    spreads: str | None = None
    uses_blas: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


def realisation(
    kind: str,
    summary: str,
    *,
    name: str = "",
    function: str = "",
    also_requires: Sequence[req.Requirement] = (),
    spreads: str | None = None,
    uses_blas: bool = False,
    details: Mapping[str, Any] | None = None,
) -> Realisation:
    """A realisation of ``kind``, named after it unless ``name`` is given.

    ``function`` is the attribute of the kind's module to call (default: the kernel's function
    name); ``spreads`` overrides the kind's (NumPy's matmul spreads over BLAS threads);
    ``uses_blas`` marks realisations whose speed is the BLAS library's.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown realisation kind {kind!r}: choose one of {', '.join(KINDS)}")
    return Realisation(
        kind, summary, name, function, tuple(also_requires), spreads, uses_blas, dict(details or {})
    )
