"""How a GPU variant is prepared: inputs to the device before timing, the result back after.

With a CUDA GPU and CuPy, arrays become CuPy arrays and ``sync`` waits for the device. Under
Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, no GPU needed) arrays stay NumPy arrays and
the simulated kernels run on the CPU, which is how their correctness is tested here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from haiend.kernels.calls import PreparedCall


def simulated() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def prepare(variant: Any, inputs: Sequence[Any]) -> PreparedCall:
    """Prepare a ``device="gpu"`` variant (a :class:`haiend.kernels.Variant`) to run on ``inputs``."""
    host_out = variant.kernel.allocate_output(*inputs)
    if simulated():
        return PreparedCall(call=lambda: variant.impl(*inputs, host_out), result=lambda: host_out)

    import cupy

    device_inputs = tuple(cupy.asarray(x) if isinstance(x, np.ndarray) else x for x in inputs)
    device_out = cupy.asarray(host_out)
    stream = cupy.cuda.get_current_stream()
    stream.synchronize()
    return PreparedCall(
        call=lambda: variant.impl(*device_inputs, device_out),
        result=lambda: cupy.asnumpy(device_out),
        sync=stream.synchronize,
    )
