"""An energy estimate for when nothing can be measured, in the manner of CodeCarbon.

The model, every figure of which goes into the reading's assumptions:

* CPU power = watts per thread x the threads this process kept busy, and never less than
  ``idle_fraction`` of all usable threads' power: CodeCarbon 3.3.2 (``core/cpu.py``) takes
  ``max(TDP x load, 0.1 x TDP)`` and, for a processor its table does not know, 4 W per thread.
  The busy threads are this process's CPU seconds over the wall seconds (all its threads,
  Numba's, OpenMP's and BLAS's included), so a variant that waits on memory with one thread
  counts as one busy thread: an estimate cannot see how hard a core works, only that it ran.
* memory power = 5 W per DIMM on x86 and 1.5 W on Arm (CodeCarbon 3.3.2, ``external/ram.py``),
  with max(2, GiB / 16) DIMMs assumed (a guess about the board, stated as one).
* energy = (CPU power + memory power) x wall seconds.

So two variants that run as long on as many threads get the same estimate, however differently
they use the hardware: the lab on energy shows exactly that.

CodeCarbon itself was evaluated as this backend (3.3.2, ``OfflineEmissionsTracker``): on these
virtual machines its processor lookup takes 1.7 s per tracker (every variant would pay it), the
"AMD EPYC" a hypervisor shows is not in its table so it falls back to the 4 W per thread used here,
and it brings sixteen direct dependencies (pandas, requests, pydantic, typer...) into an
environment that needs none of them. Zeus measures (NVML, RAPL) but does not estimate. So the
model is written here, with CodeCarbon's figures, and cited.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WATTS_PER_THREAD = 4.0  # CodeCarbon 3.3.2, core/cpu.py DEFAULT_POWER_PER_CORE (used per thread)
IDLE_FRACTION = 0.1  # CodeCarbon 3.3.2: a CPU draws at least 10 % of its TDP
WATTS_PER_DIMM = {"arm": 1.5, "other": 5.0}  # CodeCarbon 3.3.2, external/ram.py
GIB_PER_DIMM = 16  # assumed: max(2, GiB / 16) DIMMs


@dataclass(frozen=True)
class Model:
    watts_per_thread: float
    threads: int
    memory_watts: float
    assumptions: tuple[str, ...]
    idle_fraction: float = IDLE_FRACTION

    @property
    def idle_watts(self) -> float:
        """What the model says the machine draws doing nothing."""
        return self.idle_fraction * self.watts_per_thread * self.threads + self.memory_watts

    def joules(self, seconds: float, cpu_seconds: float) -> dict[str, float]:
        """Estimated joules by part ("cpu", "memory") over ``seconds`` with ``cpu_seconds`` of work."""
        full = self.watts_per_thread * self.threads
        cpu = max(self.watts_per_thread * cpu_seconds, self.idle_fraction * full * seconds)
        return {"cpu": cpu, "memory": self.memory_watts * seconds}


def model(info: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Model:
    """The model for a machine's fingerprint, with a site profile's ``energy`` figures where given."""
    overrides = overrides or {}
    threads = int(info.get("usable_cores") or info.get("logical_cores") or 1)
    arm = str(info.get("architecture", "")).lower() in ("aarch64", "arm64")
    per_thread = overrides.get("cpu_watts_per_thread")
    said_thread = (
        f"{per_thread:g} W per busy thread (site profile)"
        if per_thread is not None
        else f"{WATTS_PER_THREAD:g} W per busy thread (CodeCarbon 3.3.2's figure for a processor it does not know)"
    )
    per_thread = WATTS_PER_THREAD if per_thread is None else float(per_thread)
    memory = overrides.get("memory_watts")
    if memory is None:
        gib = (info.get("memory_total_bytes") or 0) / 2**30
        dimms = max(2, math.ceil(gib / GIB_PER_DIMM))
        each = WATTS_PER_DIMM["arm" if arm else "other"]
        memory = dimms * each
        said_memory = f"memory {memory:g} W: {dimms} DIMMs assumed for {gib:.0f} GiB at {each:g} W each (CodeCarbon 3.3.2)"
    else:
        memory = float(memory)
        said_memory = f"memory {memory:g} W (site profile)"
    return Model(
        per_thread,
        threads,
        memory,
        (
            said_thread,
            f"at least {IDLE_FRACTION:.0%} of {threads} usable threads' power while idle",
            said_memory,
            "busy threads = this process's CPU seconds / wall seconds",
        ),
    )
