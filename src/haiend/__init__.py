"""HAI-End Labs: kernels in many realisations, measured honestly on the reader's own machine.

The public pieces, one idea per module:

* :mod:`haiend.timing`    ``benchmark()``: the cold call timed apart, warm-up, repeats, raw times;
* :mod:`haiend.machine`   ``describe()``: the machine's fingerprint and its short id;
* :mod:`haiend.roofline`  the roofline arithmetic; :mod:`haiend.ceilings` measures the roofs;
* :mod:`haiend.records`   versioned result files, written atomically;
* :mod:`haiend.kernels`   the kernels and their realisations (``kernels.get("stream")``);
* :mod:`haiend.bench`     check, time and record a kernel's variants (what ``haiend bench`` runs);
* :mod:`haiend.plotting`  the only module that imports matplotlib.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("haiend")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
