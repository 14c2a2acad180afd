"""What a parallel file system adds to a read: one metadata round trip per file opened.

On a laptop, opening a file whose inode and directory entry are cached costs a microsecond or two:
the kernel finds them in memory. On Lustre or GPFS, the client must ask a metadata server (Lustre's
MDS, GPFS's metanode and token manager) for the file's layout and a lock before it may read, so each
open or stat by name is a network round trip and a queue on a server that every job shares. The
model is deliberately the simplest that shows the effect::

    predicted time = measured local time + opens x metadata latency

It leaves out what would make it worse (a busy server, directory lock contention when many clients
touch one folder, the stat a data loader adds per file) and better (a client's metadata cache,
Lustre's Data-on-MDT for tiny files, parallel readers overlapping their round trips); a site
replaces the latency with its own, measured with ``mdtest`` or timed with ``stat`` in a loop, in the
``[io]`` table of its site profile (:mod:`haiend.profile`).

The default latency is for a Lustre-like file system with one client thread and no contention, with
its source in :data:`DEFAULT_SOURCE`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from haiend.errors import HaiendError

DEFAULT_LATENCY_S = 5e-4
DEFAULT_SOURCE = (
    "Dell, 'Dell Storage for HPC with Intel Enterprise Edition for Lustre software' (white paper), "
    "Figure 12, mdtest on Lustre 2.5: one client thread made just over 2,000 file stats per second "
    "(so about 0.5 ms per metadata operation) and about 500 file creates per second"
)
DEFAULT_FILE_SYSTEM = "Lustre (a Lustre-like parallel file system, one client thread, no contention)"


@dataclass(frozen=True)
class MetadataModel:
    """A metadata latency in seconds, where it comes from, and the file system it describes."""

    latency_s: float = DEFAULT_LATENCY_S
    source: str = DEFAULT_SOURCE
    file_system: str = DEFAULT_FILE_SYSTEM

    def __post_init__(self) -> None:
        if not self.latency_s > 0:
            raise HaiendError(
                f"a metadata latency must be a positive number of seconds, not {self.latency_s}."
            )

    def added_s(self, opens: int) -> float:
        """Seconds the metadata operations add: ``opens`` x the latency."""
        if opens < 0:
            raise HaiendError(f"the number of opens cannot be negative ({opens}).")
        return opens * self.latency_s

    def predicted_s(self, local_s: float, opens: int) -> float:
        """The time of a read on the parallel file system: the local time plus the metadata."""
        return local_s + self.added_s(opens)

    def slowdown(self, local_s: float, opens: int) -> float:
        """How many times longer the read takes there than here."""
        return self.predicted_s(local_s, opens) / local_s


def from_profile(profile: Any = None) -> MetadataModel:
    """The model of a site profile's ``[io]`` table (a :class:`haiend.profile.Profile`, a path to a
    profile, or None for the default); a profile without the table gets the default, cited."""
    if profile is None:
        return MetadataModel()
    if isinstance(profile, (str, os.PathLike)):
        from haiend.profile import read_profile

        profile = read_profile(profile)
    table: Mapping[str, Any] = getattr(profile, "io", {}) or {}
    if "metadata_latency_s" not in table:
        return MetadataModel()
    return MetadataModel(
        float(table["metadata_latency_s"]),
        str(table["metadata_latency_source"]),
        str(table.get("file_system") or "the site's parallel file system"),
    )
