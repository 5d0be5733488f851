"""Per-biome parameters of the synthetic study area, read from ``resources/biome_parameters.json``.

Biome codes and names come from ``resources/biomes.json`` (``soilp_qgis.tables``); this module adds
the physics: soil hydraulic properties, root profile, vegetation, rainfall regime and climate
envelope of each of the 16 WWF classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import tables

#: season of the rain peak → day of year of the peak in the Northern Hemisphere
RAIN_PEAK_DAY = {"summer": 196.0, "monsoon": 213.0, "winter": 15.0, "mediterranean": 15.0,
                 "even": 196.0}

#: per-cell parameter name → (section, key) in the JSON table
_FIELDS = {
    "porosity": ("soil", "porosity"),
    "field_capacity": ("soil", "field_capacity"),
    "wilting_point": ("soil", "wilting_point"),
    "drainage_rate": ("soil", "drainage_rate"),
    "infiltration_capacity": ("soil", "infiltration_capacity"),
    "bypass_share": ("soil", "bypass_share"),
    "max_cover": ("vegetation", "max_cover"),
    "light_use_efficiency": ("vegetation", "light_use_efficiency"),
    "t_min": ("vegetation", "t_min"),
    "t_opt": ("vegetation", "t_opt"),
    "t_max": ("vegetation", "t_max"),
    "leaf_min": ("vegetation", "leaf_min"),
    "seasonal_amplitude": ("rain", "seasonal_amplitude"),
    "wet_day_fraction": ("rain", "wet_day_fraction"),
    "persistence": ("rain", "persistence"),
    "gamma_shape": ("rain", "gamma_shape"),
    "frequency_share": ("rain", "frequency_share"),
    "elevation": ("climate", "elevation"),
    "albedo": ("surface", "albedo"),
    "diurnal_range": ("surface", "diurnal_range"),
    "lst_stress_gain": ("surface", "lst_stress_gain"),
}


@dataclass(frozen=True)
class BiomeTable:
    """Biome parameters as lookup arrays indexed by biome code (0–255).

    ``table.lookup("porosity", codes)`` gives the porosity of each cell of a code array. Rows for
    codes that are not biomes hold NaN.
    """

    codes: tuple[int, ...]
    names: dict[int, str]
    values: dict[str, np.ndarray]            # name -> (256,) float64
    roots: np.ndarray                         # (256, 3) root share per layer
    rain_peak_day: np.ndarray                 # (256,) day of year of the NH rain peak
    precipitation_range: np.ndarray           # (256, 2) mm/year
    temperature_range: np.ndarray             # (256, 2) °C
    constants: dict[str, Any]

    def lookup(self, name: str, codes: np.ndarray) -> np.ndarray:
        """Per-cell values of parameter ``name`` for an array of biome codes."""
        return self.values[name][np.asarray(codes, dtype=np.intp)]


@lru_cache(maxsize=1)
def biome_table() -> BiomeTable:
    """The biome parameter table (read once)."""
    with open(tables.resources_dir() / "biome_parameters.json", encoding="utf-8") as handle:
        raw = json.load(handle)
    names = tables.biome_names()
    entries = {int(code): entry for code, entry in raw["biomes"].items()}
    missing = sorted(set(names) - set(entries))
    if missing:
        raise ValueError(f"biome_parameters.json lacks biome codes {missing}")
    values = {name: np.full(256, np.nan) for name in _FIELDS}
    roots = np.full((256, 3), np.nan)
    peak = np.full(256, np.nan)
    p_range = np.full((256, 2), np.nan)
    t_range = np.full((256, 2), np.nan)
    for code, entry in entries.items():
        for name, (section, key) in _FIELDS.items():
            values[name][code] = float(entry[section][key])
        share = np.asarray(entry["roots"], dtype=float)
        roots[code] = share / share.sum()
        peak[code] = RAIN_PEAK_DAY[entry["rain"]["regime"]]
        p_range[code] = entry["climate"]["annual_precipitation"]
        t_range[code] = entry["climate"]["mean_temperature"]
    for array in values.values():
        array.setflags(write=False)
    return BiomeTable(codes=tuple(sorted(names)), names=names, values=values, roots=roots,
                      rain_peak_day=peak, precipitation_range=p_range, temperature_range=t_range,
                      constants=dict(raw["constants"]))
