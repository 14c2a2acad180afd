"""A GPU's energy from NVML's total-energy counter (``nvidia-ml-py``, the binding NVIDIA publishes).

``nvmlDeviceGetTotalEnergyConsumption`` counts millijoules since the driver was loaded (Volta and
newer). The counter is fed by the board's power sensor, which on recent data-centre GPUs averages
over a window and samples only part of the time (Yang et al., "Accurate and Convenient Energy
Measurements for GPUs", SC24), so a window of a few milliseconds is not resolved: meter a run
of many calls, not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Unavailable(Exception):
    """No NVML energy counter here; the message says why and what to do."""


@dataclass(frozen=True)
class Counter:
    handle: Any
    name: str
    index: int

    def read_mj(self) -> int:
        import pynvml

        return int(pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))


def counter(index: int = 0) -> Counter:
    """The energy counter of GPU ``index``; Unavailable with the reason when there is none."""
    try:
        import pynvml
    except ImportError:
        raise Unavailable("nvidia-ml-py is not installed: pip install nvidia-ml-py") from None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        found = Counter(handle, name.decode() if isinstance(name, bytes) else str(name), index)
        found.read_mj()  # pre-Volta boards have no such counter
    except pynvml.NVMLError as exc:
        raise Unavailable(f"NVML gives no energy counter for GPU {index} ({exc})") from None
    return found
