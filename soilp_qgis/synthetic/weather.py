"""Daily weather of the synthetic study area: pure functions over arrays of cells.

Rain occurrence is a first-order wet/dry Markov chain whose stationary wet-day probability follows
the season; wet-day amounts are gamma distributed; radiation follows FAO-56 (Allen et al. 1998);
potential evapotranspiration is Hargreaves or Priestley–Taylor.
"""

from __future__ import annotations

import numpy as np

SOLAR_CONSTANT = 0.0820          # MJ m-2 min-1
LATENT_HEAT = 2.45               # MJ kg-1
STEFAN_BOLTZMANN = 4.903e-9      # MJ K-4 m-2 d-1
YEAR_DAYS = 365.25


def seasonal_factor(day_of_year, peak_day, amplitude) -> np.ndarray:
    """``1 + amplitude·cos(2π(day − peak)/365.25)``: a seasonal cycle with mean 1 over the year."""
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (np.asarray(day_of_year) - peak_day) / YEAR_DAYS)


def markov_transitions(wet_fraction, persistence) -> tuple[np.ndarray, np.ndarray]:
    """Transition probabilities (dry→wet, wet→wet) of a two-state chain.

    With stationary wet probability π and lag-1 autocorrelation r of the wet indicator:
    ``p01 = π(1 − r)`` and ``p11 = π + r(1 − π)``.
    """
    pi = np.asarray(wet_fraction, dtype=float)
    r = np.asarray(persistence, dtype=float)
    return pi * (1.0 - r), pi + r * (1.0 - pi)


def extraterrestrial_radiation(lat_deg, day_of_year) -> np.ndarray:
    """Daily top-of-atmosphere shortwave radiation Ra (MJ m-2 d-1), FAO-56 eq. 21."""
    phi = np.radians(lat_deg)
    j = np.asarray(day_of_year, dtype=float)
    dr = 1.0 + 0.033 * np.cos(2.0 * np.pi * j / 365.0)
    delta = 0.409 * np.sin(2.0 * np.pi * j / 365.0 - 1.39)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))
    ra = (24.0 * 60.0 / np.pi) * SOLAR_CONSTANT * dr * (
        ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    return np.maximum(ra, 0.0)


def saturation_vapour_pressure(t_c) -> np.ndarray:
    """kPa, FAO-56 eq. 11."""
    return 0.6108 * np.exp(17.27 * t_c / (t_c + 237.3))


def net_radiation(shortwave, extraterrestrial, t_mean, t_min, elevation, albedo) -> np.ndarray:
    """Net radiation Rn (MJ m-2 d-1): net shortwave minus net longwave (FAO-56 eqs. 37–40)."""
    clear_sky = (0.75 + 2e-5 * elevation) * extraterrestrial
    ratio = np.clip(np.divide(shortwave, clear_sky, out=np.full_like(shortwave, 0.5),
                              where=clear_sky > 0.1), 0.3, 1.0)
    ea = saturation_vapour_pressure(t_min)
    longwave = (STEFAN_BOLTZMANN * (t_mean + 273.16) ** 4 * (0.34 - 0.14 * np.sqrt(ea))
                * (1.35 * ratio - 0.35))
    return (1.0 - albedo) * shortwave - longwave


def priestley_taylor_pet(t_mean, net_rad, elevation, alpha: float = 1.26) -> np.ndarray:
    """Potential evapotranspiration (mm/day) by Priestley–Taylor: α·Δ/(Δ+γ)·Rn/λ, never negative."""
    es = saturation_vapour_pressure(t_mean)
    slope = 4098.0 * es / (t_mean + 237.3) ** 2
    pressure = 101.3 * ((293.0 - 0.0065 * elevation) / 293.0) ** 5.26
    gamma = 0.665e-3 * pressure
    return np.maximum(alpha * slope / (slope + gamma) * net_rad / LATENT_HEAT, 0.0)


def hargreaves_pet(t_mean, diurnal_range, extraterrestrial) -> np.ndarray:
    """Potential evapotranspiration (mm/day) by Hargreaves: 0.0023·(Ra/λ)·(T+17.8)·√(Tmax−Tmin)."""
    return np.maximum(0.0023 * extraterrestrial / LATENT_HEAT * (t_mean + 17.8)
                      * np.sqrt(np.maximum(diurnal_range, 0.0)), 0.0)
