"""Daily land-surface physics of the synthetic study area: snow, a three-layer soil bucket,
evapotranspiration, GPP and land surface temperature. Pure functions over arrays of cells.

Soil water is held in mm per layer as arrays ``(3, cells)``; every flux is limited by what the
giving layer holds and the receiving layer can take, so water is conserved to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SoilParameters:
    """Soil and root parameters per cell; water amounts in mm per layer, shape ``(3, cells)``."""

    saturation: np.ndarray        # porosity × layer depth
    field_capacity: np.ndarray
    wilting_point: np.ndarray
    residual: np.ndarray          # lowest water that soil evaporation can reach
    roots: np.ndarray             # root share per layer
    drainage_rate: np.ndarray     # (cells,) share of water above field capacity drained per day
    infiltration_capacity: np.ndarray  # (cells,) mm/day of a wet surface
    bypass_share: np.ndarray      # (cells,) share of infiltration carried past the top layer
    capillary_rate: float = 0.04  # share of the wetness difference moved upward per day

    @classmethod
    def from_volumetric(cls, depths_mm, porosity, field_capacity, wilting_point, roots,
                        drainage_rate, infiltration_capacity, bypass_share, capillary_rate=0.04):
        """Build from volumetric contents (m³/m³, per cell) and layer depths (mm)."""
        dz = np.asarray(depths_mm, dtype=float)[:, None]
        wp = dz * wilting_point
        return cls(saturation=dz * porosity, field_capacity=dz * field_capacity,
                   wilting_point=wp, residual=0.4 * wp, roots=np.asarray(roots, dtype=float),
                   drainage_rate=np.asarray(drainage_rate, dtype=float),
                   infiltration_capacity=np.asarray(infiltration_capacity, dtype=float),
                   bypass_share=np.asarray(bypass_share, dtype=float),
                   capillary_rate=float(capillary_rate))


def snow_step(swe, precipitation, t_air, pet, threshold=0.0, degree_day_factor=3.0,
              sublimation_share=0.1):
    """One day of snow: precipitation falls as snow at or below ``threshold`` °C, melts by degree
    days above it, and sublimates at a share of PET.

    Returns ``(swe, rainfall, snowfall, melt, sublimation)`` (mm).
    """
    cold = t_air <= threshold
    snowfall = np.where(cold, precipitation, 0.0)
    rainfall = precipitation - snowfall
    pack = swe + snowfall
    melt = np.minimum(pack, degree_day_factor * np.maximum(t_air - threshold, 0.0))
    pack = pack - melt
    sublimation = np.minimum(pack, sublimation_share * pet)
    return pack - sublimation, rainfall, snowfall, melt, sublimation


def snow_cover(swe) -> np.ndarray:
    """Share of the ground covered by snow: full from 20 mm of water equivalent."""
    return np.minimum(swe / 20.0, 1.0)


def soil_temperature_step(t_soil, t_air, cover, response_days=10.0) -> np.ndarray:
    """Soil temperature relaxing towards air temperature; snow cover insulates (damps forcing)."""
    forcing = t_air * (1.0 - 0.7 * cover)
    return t_soil + (forcing - t_soil) / response_days


def water_availability(water, soil: SoilParameters) -> np.ndarray:
    """Transpiration stress factor per layer (0–1): 1 above 60 % of the plant-available water."""
    available = soil.field_capacity - soil.wilting_point
    return np.clip((water - soil.wilting_point) / (0.6 * available), 0.0, 1.0)


def soil_step(water, liquid_input, frozen, transpiration_demand, evaporation_demand,
              soil: SoilParameters, hygroscopic_water=None):
    """One day of the three-layer bucket (0–7, 7–28, 28–100 cm).

    Order: infiltration (blocked while frozen; limited by an infiltration capacity that a dry top
    layer seals down to half, so that intense rain partly runs off; a bypass share goes by
    macropores to the deeper layers; layers fill up to saturation, top-down; what does not fit
    runs off), gravity drainage above field capacity (none while frozen; out of the bottom layer =
    drainage), capillary rise towards a drier layer above, transpiration drawn from the layers by
    root share × water availability, and soil evaporation from the top layer down to its
    hygroscopic water (``hygroscopic_water``, mm, default the fixed residual), which a drier top
    layer regains by vapour adsorption (negative evaporation: dew and adsorption in humid nights
    and cool seasons). Returns ``(water, fluxes)`` with fluxes in mm: infiltration, runoff,
    drainage, transpiration, evaporation, evapotranspiration, water_stress (root-weighted
    availability, 0–1).
    """
    water = np.array(water, dtype=float, copy=True)
    thawed = ~frozen
    top_span = soil.field_capacity[0] - soil.residual[0]
    top_wetness = np.clip((water[0] - soil.residual[0]) / top_span, 0.0, 1.0)
    capacity = soil.infiltration_capacity * (0.5 + 0.5 * top_wetness)
    offered = np.where(thawed, capacity * -np.expm1(-liquid_input / capacity), 0.0)
    runoff = liquid_input - offered
    deep = 0.5 * soil.bypass_share * offered
    carry = np.zeros_like(offered)
    for layer, share in enumerate((offered - 2.0 * deep, deep, deep)):
        incoming = share + carry
        take = np.minimum(incoming, soil.saturation[layer] - water[layer])
        water[layer] += take
        carry = incoming - take
    runoff = runoff + carry
    infiltration = offered - carry

    rate = np.where(thawed, soil.drainage_rate, 0.0)
    drainage = rate * np.maximum(water[2] - soil.field_capacity[2], 0.0)
    water[2] -= drainage
    for layer in (1, 0):
        below = layer + 1
        flux = np.minimum(rate * np.maximum(water[layer] - soil.field_capacity[layer], 0.0),
                          soil.saturation[below] - water[below])
        water[layer] -= flux
        water[below] += flux

    if soil.capillary_rate > 0.0:
        for layer in (1, 0):
            below = layer + 1
            span_above = soil.field_capacity[layer] - soil.wilting_point[layer]
            span_below = soil.field_capacity[below] - soil.wilting_point[below]
            wet_above = (water[layer] - soil.wilting_point[layer]) / span_above
            wet_below = (water[below] - soil.wilting_point[below]) / span_below
            gradient = np.clip(wet_below - wet_above, 0.0, 1.0)
            flux = (soil.capillary_rate * gradient
                    * np.maximum(water[below] - soil.wilting_point[below], 0.0))
            flux = np.where(thawed,
                            np.minimum(flux, np.maximum(soil.field_capacity[layer] - water[layer],
                                                        0.0)),
                            0.0)
            water[below] -= flux
            water[layer] += flux

    beta = water_availability(water, soil)
    demand = np.where(thawed, transpiration_demand, 0.0)
    uptake = np.minimum(demand * soil.roots * beta, np.maximum(water - soil.wilting_point, 0.0))
    water -= uptake
    transpiration = uptake.sum(axis=0)
    floor = soil.residual[0] if hygroscopic_water is None else hygroscopic_water
    evap_factor = np.clip((water[0] - floor) / (0.5 * (soil.field_capacity[0] - floor)), 0.0, 1.0)
    evaporation = np.minimum(np.where(thawed, evaporation_demand, 0.0) * evap_factor,
                             np.maximum(water[0] - floor, 0.0))
    evaporation -= np.where(thawed, 0.3 * np.maximum(floor - water[0], 0.0), 0.0)
    water[0] -= evaporation
    stress = (soil.roots * beta).sum(axis=0)
    return water, {"infiltration": infiltration, "runoff": runoff, "drainage": drainage,
                   "transpiration": transpiration, "evaporation": evaporation,
                   "evapotranspiration": transpiration + evaporation, "water_stress": stress}


def temperature_response(t_air, t_min, t_opt, t_max) -> np.ndarray:
    """GPP temperature factor: 0 below t_min, rising to 1 at t_opt, falling to 0 at t_max."""
    rise = (t_air - t_min) / (t_opt - t_min)
    fall = (t_max - t_air) / (t_max - t_opt)
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


def gross_primary_production(shortwave, green_cover, light_use_efficiency, temperature_factor,
                             water_factor) -> np.ndarray:
    """GPP (g C m-2 d-1) = LUE × absorbed PAR (48 % of shortwave × green cover) × f(T) × f(water).

    The simulation uses the CASA-style water scalar ``0.5 + 0.5 × water stress`` (Potter et al.
    1993); drought also sheds leaves through the phenology, which lowers the green cover."""
    return light_use_efficiency * 0.48 * shortwave * green_cover * temperature_factor * water_factor


def land_surface_temperature(t_air, shortwave, water_stress, stress_gain, cover) -> np.ndarray:
    """LST (°C): air temperature plus an offset that grows with radiation and water stress; snow
    cover keeps the surface near air temperature."""
    return t_air + shortwave * (0.05 + stress_gain * water_stress) * (1.0 - 0.8 * cover)
