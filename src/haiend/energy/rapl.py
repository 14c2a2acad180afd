"""RAPL energy counters through the Linux powercap tree (``/sys/class/powercap``).

Each RAPL domain is a zone folder (``intel-rapl:0`` a package, ``intel-rapl:0:0`` one of its
subzones: ``core``, ``uncore`` or ``dram``) holding ``name``, ``energy_uj`` (a counter in
microjoules that only grows, then wraps) and ``max_energy_range_uj`` (where it wraps). AMD Zen
processors expose their package (and core) counters in the same tree under the same names.

The scope measured is every package plus every ``dram`` subzone: a package's ``core`` and
``uncore`` are already inside it, and DRAM is not. Since CVE-2020-8694 (Platypus, 2020) the
``energy_uj`` files are readable by root only on most distributions; that is reported as the
reason, with the fix.

Written here rather than taken from Zeus or CodeCarbon: both read a fixed ``/sys/class/powercap``
path, and the tests need to point the reader at a fake tree (``HAIEND_POWERCAP_ROOT``) with a
wrap-around and a root-only file; the reader is forty lines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_ROOT = "HAIEND_POWERCAP_ROOT"
DEFAULT_ROOT = "/sys/class/powercap"


def root() -> Path:
    return Path(os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


@dataclass(frozen=True)
class Zone:
    """One counter: its folder, its name ("package-0", "dram") and where it wraps (microjoules)."""

    path: Path
    name: str
    wraps_at: int

    def read(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


class Unavailable(Exception):
    """No RAPL counter can be read here; the message says why and what to do."""


def zones(base: Path | None = None) -> tuple[Zone, ...]:
    """The zones that make up the package and DRAM scope; Unavailable (with the reason) if none can be read."""
    base = base or root()
    if not base.is_dir():
        raise Unavailable(
            f"there is no powercap tree at {base} (no RAPL driver, or a virtual machine that hides it)"
        )
    found = []
    for folder in sorted(base.glob("*-rapl:*")):  # intel-rapl:0, intel-rapl:0:0 (AMD uses the same names)
        name_file = folder / "name"
        if not (folder / "energy_uj").exists() or not name_file.exists():
            continue
        name = name_file.read_text().strip()
        is_package = folder.name.count(":") == 1 and name.startswith("package")
        if is_package or name == "dram":
            found.append(Zone(folder, name, int((folder / "max_energy_range_uj").read_text().strip())))
    if not found:
        raise Unavailable(f"the powercap tree at {base} has no RAPL package or DRAM zone")
    for zone in found:
        try:
            zone.read()
        except PermissionError:
            raise Unavailable(
                f"the RAPL counters under {base} are readable by root only (so since CVE-2020-8694):"
                " run as root, or let this user read them (chmod o+r .../energy_uj, or a udev rule)"
            ) from None
    return tuple(found)


def difference(before: int, after: int, wraps_at: int) -> int:
    """Microjoules between two readings of one counter, across at most one wrap-around."""
    return after - before if after >= before else after + wraps_at - before
