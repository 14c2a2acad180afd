"""Energy of a piece of work: measured where the machine allows, estimated and labelled where not.

One interface::

    with energy.meter() as m:          # device="gpu" for work on the GPU
        run_the_kernel()
    m.reading.joules, m.reading.method, m.reading.scope

The backend is chosen once per process and device, in this order:

* ``measured``, CPU: RAPL through the powercap tree (:mod:`haiend.energy.rapl`), scope every
  package and its DRAM; the whole node, so other work on it counts too;
* ``measured``, GPU: NVML's total-energy counter (:mod:`haiend.energy.nvml`), scope one board;
* ``estimated``: CPU and memory power from a stated model times this process's busy time
  (:mod:`haiend.energy.estimate`); its assumptions travel with every figure;
* ``none``: nothing can be said (a GPU without NVML, or ``HAIEND_ENERGY=off``), with the reason.

An estimate is never shown as a measurement: each :class:`Reading` says which it is, and when a
measurement was not possible, why (:attr:`Reading.reason`). :func:`idle` gives the baseline to
set beside a figure: the machine's draw doing nothing, measured over a short sleep or estimated.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from haiend.energy import carbon, estimate, nvml, rapl

ENV_SWITCH = "HAIEND_ENERGY"  # "off": meter nothing
METHODS = ("measured", "estimated", "none")


@dataclass(frozen=True)
class Reading:
    """What one metered window drew, how that was found out, and over what."""

    method: str  # "measured", "estimated" or "none"
    scope: str  # what the joules cover: "CPU packages and DRAM (whole node)", "GPU 0"...
    source: str  # the counter or the model
    seconds: float
    joules: float | None = None
    cpu_seconds: float | None = None
    parts: Mapping[str, float] = field(default_factory=dict)  # joules by domain or part
    assumptions: tuple[str, ...] = ()
    reason: str = ""  # for an estimate: why nothing was measured; for none: why nothing is known

    @property
    def mean_watts(self) -> float | None:
        return None if self.joules is None or self.seconds <= 0 else self.joules / self.seconds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = dict(self.parts)
        data["assumptions"] = list(self.assumptions)
        return data

    def __str__(self) -> str:
        if self.joules is None:
            return f"energy not known: {self.reason}"
        said = f"{self.joules:.3g} J in {self.seconds:.3g} s ({self.mean_watts:.3g} W), {self.method}, {self.scope}"
        return said if self.method == "measured" else f"{said}; {'; '.join(self.assumptions)}"


class _Rapl:
    method = "measured"

    def __init__(self, zones: tuple[rapl.Zone, ...]) -> None:
        self.zones = zones
        self.scope = (
            "CPU packages and DRAM (whole node)"
            if any(z.name == "dram" for z in zones)
            else "CPU packages (whole node)"
        )
        self.source = "RAPL via powercap: " + ", ".join(f"{z.path.name} ({z.name})" for z in zones)

    def start(self) -> Any:
        return [z.read() for z in self.zones]

    def stop(self, started: Any, seconds: float, cpu_seconds: float) -> Reading:
        parts = {
            f"{z.path.name} {z.name}": rapl.difference(before, z.read(), z.wraps_at) / 1e6
            for z, before in zip(self.zones, started, strict=True)
        }
        return Reading(self.method, self.scope, self.source, seconds, sum(parts.values()), cpu_seconds, parts)


class _Nvml:
    method = "measured"

    def __init__(self, counter: nvml.Counter) -> None:
        self.counter = counter
        self.scope = f"GPU {counter.index} ({counter.name}), the board only"
        self.source = "NVML nvmlDeviceGetTotalEnergyConsumption"

    def start(self) -> Any:
        return self.counter.read_mj()

    def stop(self, started: Any, seconds: float, cpu_seconds: float) -> Reading:
        joules = (self.counter.read_mj() - started) / 1e3
        return Reading(self.method, self.scope, self.source, seconds, joules, cpu_seconds, {"gpu": joules})


class _Estimate:
    method = "estimated"
    scope = "CPU and memory of this process's threads (estimated)"
    source = "haiend.energy.estimate, after CodeCarbon's model"

    def __init__(self, model: estimate.Model, reason: str) -> None:
        self.model = model
        self.reason = reason

    def start(self) -> Any:
        return None

    def stop(self, started: Any, seconds: float, cpu_seconds: float) -> Reading:
        parts = self.model.joules(seconds, cpu_seconds)
        return Reading(
            self.method,
            self.scope,
            self.source,
            seconds,
            sum(parts.values()),
            cpu_seconds,
            parts,
            self.model.assumptions,
            self.reason,
        )


class _Nothing:
    method = "none"
    scope = ""
    source = ""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def start(self) -> Any:
        return None

    def stop(self, started: Any, seconds: float, cpu_seconds: float) -> Reading:
        return Reading(self.method, self.scope, self.source, seconds, None, cpu_seconds, reason=self.reason)


def _machine_facts(info: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if info is None:
        from haiend import machine

        info = machine.describe()
    return (
        info.get("usable_cores") or info.get("logical_cores"),
        info.get("architecture"),
        info.get("memory_total_bytes"),
    )


def backend(
    device: str = "cpu", info: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
):
    """The backend for ``device`` ("cpu" or "gpu"), probed once per configuration."""
    facts = _machine_facts(info)
    settings = tuple(sorted((overrides or {}).items()))
    return _probe(device, os.environ.get(ENV_SWITCH, ""), str(rapl.root()), facts, settings)


@functools.cache
def _probe(device: str, switch: str, root: str, facts: tuple[Any, ...], settings: tuple[Any, ...]):
    if switch.lower() == "off":
        return _Nothing(f"energy metering is off ({ENV_SWITCH}=off)")
    if device == "gpu":
        try:
            return _Nvml(nvml.counter())
        except nvml.Unavailable as exc:
            return _Nothing(f"the GPU's energy cannot be measured: {exc}")
    threads, architecture, memory = facts
    info = {"usable_cores": threads, "architecture": architecture, "memory_total_bytes": memory}
    try:
        return _Rapl(rapl.zones())
    except rapl.Unavailable as exc:
        reason = f"no energy counter could be read: {exc}"
    except (OSError, ValueError) as exc:
        reason = f"the RAPL counters could not be read ({exc})"
    return _Estimate(estimate.model(info, dict(settings)), reason)


class Meter:
    """Meters the work inside ``with``; ``reading`` holds the result after the block."""

    def __init__(self, chosen) -> None:
        self._backend = chosen
        self.reading: Reading | None = None

    @property
    def method(self) -> str:
        return self._backend.method

    def __enter__(self) -> Meter:
        self._cpu0 = time.process_time()
        self._t0 = time.perf_counter()
        self._started = self._backend.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        seconds = time.perf_counter() - self._t0
        cpu_seconds = time.process_time() - self._cpu0
        self.reading = self._backend.stop(self._started, seconds, cpu_seconds)


def meter(
    device: str = "cpu", info: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
) -> Meter:
    """A meter for work on ``device``; ``overrides`` are a site profile's energy figures."""
    return Meter(backend(device, info, overrides))


def idle(
    seconds: float = 0.5,
    device: str = "cpu",
    info: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Reading:
    """The baseline: what the machine draws while this process sleeps ``seconds``.

    Measured when a counter can be read (the draw of everything else on the node included), else
    the estimate model's idle power, which needs no waiting.
    """
    chosen = backend(device, info, overrides)
    if chosen.method != "measured":
        return (
            chosen.stop(chosen.start(), seconds, 0.0)
            if chosen.method == "estimated"
            else chosen.stop(None, 0.0, 0.0)
        )
    with Meter(chosen) as m:
        time.sleep(seconds)
    return m.reading


@dataclass(frozen=True)
class Site:
    """A site profile's energy figures: the estimate's power figures, and the carbon intensity."""

    overrides: Mapping[str, Any]
    intensity: carbon.Intensity


def site() -> Site:
    """The figures of ``$HAIEND_SITE_PROFILE``'s energy table (read once), or the defaults."""
    return _site(os.environ.get(carbon.ENV_PROFILE, ""))


@functools.cache
def _site(path: str) -> Site:
    table = carbon.energy_table(path or None)
    overrides = {k: table[k] for k in ("cpu_watts_per_thread", "memory_watts") if k in table}
    return Site(overrides, carbon.from_table(table))


_IDLE: dict[int, Reading] = {}


def baseline(device: str = "cpu", info: Mapping[str, Any] | None = None) -> Reading:
    """The idle baseline for ``device``, measured (or estimated) once per process and backend."""
    chosen = backend(device, info, site().overrides)
    if id(chosen) not in _IDLE:
        _IDLE[id(chosen)] = idle(device=device, info=info, overrides=site().overrides)
    return _IDLE[id(chosen)]


def record_entry(
    reading: Reading,
    *,
    calls: int,
    device: str = "cpu",
    info: Mapping[str, Any] | None = None,
    ranks: int = 1,
) -> dict[str, Any]:
    """What a record keeps of a metered window: the reading, the calls in it, the idle baseline
    beside it and the carbon intensity it is to be reckoned with (schema ``record`` version 3)."""
    idle_reading = baseline(device, info)
    entry = reading.to_dict()
    if ranks > 1 and reading.method == "estimated":  # each rank meters its own process; rank 0 records
        entry["scope"] = (
            f"CPU and memory of rank 0's process of {ranks} (estimated; the other ranks are not counted)"
        )
    return {
        **entry,
        "calls": max(1, int(calls)),
        "idle": {
            "method": idle_reading.method,
            "watts": idle_reading.mean_watts,
            "seconds": idle_reading.seconds,
        },
        "intensity": site().intensity.to_dict(),
    }
