"""The small values every layer of the kernel contract passes around: a check, a prepared call.

They sit below everything else in ``haiend.kernels`` so that the preparation of GPU and MPI
realisations (``_gpu``, ``kinds``) can build them without importing the contract that uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


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
class Availability:
    """Truthy when a variant can run here; ``reason`` says why not otherwise."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok
