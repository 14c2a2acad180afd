"""Carbon from energy: kWh x the grid's carbon intensity x the data centre's PUE.

The intensity, its source and year and the PUE come from the ``energy`` table of a site profile
(the file ``haiend slurm`` reads), named by ``$HAIEND_SITE_PROFILE``; ``haiend slurm`` scripts set
it. Without one the default is the UK grid: the UK Government's greenhouse gas conversion factors
for company reporting, 2024 (DESNZ), "UK electricity" (generation), 0.20705 kg CO2e per kWh; and a
PUE of 1.0, which counts the computer's own energy only and says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from haiend.errors import HaiendError
from haiend.profile import read_profile

ENV_PROFILE = "HAIEND_SITE_PROFILE"
JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Intensity:
    g_per_kwh: float
    source: str
    year: int
    pue: float
    pue_source: str

    def grams(self, joules: float) -> float:
        """g CO2e for ``joules`` drawn by the computer."""
        return joules / JOULES_PER_KWH * self.g_per_kwh * self.pue

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


UK_2024 = Intensity(
    g_per_kwh=207.05,
    source=(
        "UK Government GHG Conversion Factors for Company Reporting 2024 (DESNZ), UK electricity,"
        " generation: 0.20705 kg CO2e/kWh,"
        " https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-2024"
    ),
    year=2024,
    pue=1.0,
    pue_source="not known: 1.0 counts the computer's own energy only (set energy.pue in the site profile)",
)


def energy_table(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``energy`` table of the site profile at ``path`` (or ``$HAIEND_SITE_PROFILE``); {} if none.

    The whole profile is read and checked as ``haiend slurm`` checks it; a bad one is a HaiendError.
    """
    path = path or os.environ.get(ENV_PROFILE)
    return dict(read_profile(path).energy) if path else {}


def from_table(table: Mapping[str, Any]) -> Intensity:
    """The intensity a site profile's ``energy`` table gives; the UK default for what it leaves out."""
    pue = (
        {"pue": float(table["pue"]), "pue_source": str(table.get("pue_source", "site profile"))}
        if "pue" in table
        else {}
    )
    if "grid_intensity_g_per_kwh" not in table:
        return replace(UK_2024, **pue)
    if "grid_intensity_source" not in table or "grid_intensity_year" not in table:
        raise HaiendError(
            "a grid intensity needs its source and year (grid_intensity_source, grid_intensity_year)."
        )
    return Intensity(
        g_per_kwh=float(table["grid_intensity_g_per_kwh"]),
        source=str(table["grid_intensity_source"]),
        year=int(table["grid_intensity_year"]),
        pue=pue.get("pue", UK_2024.pue),
        pue_source=pue.get("pue_source", UK_2024.pue_source),
    )


def configured() -> Intensity:
    """The intensity of ``$HAIEND_SITE_PROFILE``'s energy table, or the UK default."""
    return from_table(energy_table())
