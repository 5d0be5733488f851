"""Daily simulation of the synthetic study area, vectorised over land cells, looping over days.

Weather (rain chain, air temperature, radiation, PET) drives snow, soil temperature, the
three-layer bucket, GPP and LST. Outputs are daily precipitation and monthly soil moisture, ET,
air temperature, LST and GPP on the geography's grid (sea NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..protocol import Reporter
from . import land as physics
from . import weather
from .geography import Geography, smooth_field
from .parameters import biome_table

#: the three soil layers (cm from the surface)
SOIL_LAYERS_CM = ((0, 7), (7, 28), (28, 100))
PET_METHODS = ("priestley_taylor", "hargreaves")

_DIAGNOSTICS = ("precipitation", "rainfall", "snowfall", "melt", "infiltration", "runoff",
                "drainage", "evapotranspiration", "soil_water", "snow_water_equivalent",
                "soil_temperature", "frozen", "liquid_input", "air_temperature",
                "potential_evapotranspiration")


@dataclass
class SyntheticWorld:
    """The simulated study area. Arrays are ``(time, rows, cols)`` float32 with NaN over the sea.

    ``soil_moisture`` is ``(layer, month, rows, cols)`` in m³/m³ for the layers in
    ``SOIL_LAYERS_CM``. ``water_balance`` holds per-cell totals (mm) over the simulated period;
    ``daily_diagnostics`` holds daily fluxes and stores (float64) when asked for.
    """

    geography: Geography
    daily_dates: np.ndarray                  # datetime64[D]
    precipitation: np.ndarray                # mm/day
    monthly_dates: np.ndarray                # datetime64[D], first day of each month
    soil_moisture: np.ndarray                # m³/m³, (3, months, rows, cols)
    evapotranspiration: np.ndarray           # mm/month
    air_temperature: np.ndarray              # °C, monthly mean
    land_surface_temperature: np.ndarray     # K, monthly mean
    gross_primary_production: np.ndarray     # g C m-2 d-1, monthly mean
    soil_properties: dict[str, np.ndarray]   # porosity, field_capacity, wilting_point (rows, cols)
    water_balance: dict[str, np.ndarray]     # per-cell totals (rows, cols), mm
    settings: dict[str, Any] = field(default_factory=dict)
    daily_diagnostics: dict[str, np.ndarray] | None = None

    def output_stacks(self) -> list[dict[str, Any]]:
        """The time stacks to write: name, data, dates, time scale, units, description."""
        stacks = [dict(name="precipitation", data=self.precipitation, dates=self.daily_dates,
                       time_scale="daily", units="mm/day", description="Precipitation")]
        for i, (top, bottom) in enumerate(SOIL_LAYERS_CM):
            stacks.append(dict(name=f"soil_moisture_{top}_{bottom}cm", data=self.soil_moisture[i],
                               dates=self.monthly_dates, time_scale="monthly", units="m3/m3",
                               description=f"Soil moisture {top}–{bottom} cm"))
        stacks += [
            dict(name="evapotranspiration", data=self.evapotranspiration, dates=self.monthly_dates,
                 time_scale="monthly", units="mm/month", description="Actual evapotranspiration"),
            dict(name="air_temperature", data=self.air_temperature, dates=self.monthly_dates,
                 time_scale="monthly", units="degC", description="Air temperature"),
            dict(name="land_surface_temperature", data=self.land_surface_temperature,
                 dates=self.monthly_dates, time_scale="monthly", units="K",
                 description="Land surface temperature"),
            dict(name="gross_primary_production", data=self.gross_primary_production,
                 dates=self.monthly_dates, time_scale="monthly", units="g C m-2 d-1",
                 description="Gross primary production"),
        ]
        return stacks


def _scatter(values: np.ndarray, land: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(time, land cells) → (time, rows, cols) with NaN over the sea."""
    out = np.full((values.shape[0],) + land.shape, np.nan, dtype=dtype)
    out.reshape(values.shape[0], -1)[:, land.ravel()] = values
    return out


def _scatter_map(values: np.ndarray, land: np.ndarray) -> np.ndarray:
    out = np.full(land.shape, np.nan)
    out[land] = values
    return out


def simulate(geography: Geography, start_year: int = 2000, end_year: int = 2019, seed: int = 0,
             report: Reporter | None = None, pet_method: str = "priestley_taylor",
             diagnostics: bool = False, spin_up_years: int | None = None) -> SyntheticWorld:
    """Simulate daily weather and land surface over ``start_year``–``end_year`` (inclusive).

    Deterministic per ``seed``. ``report.progress`` is called about every 30 simulated days.
    ``diagnostics=True`` keeps daily water fluxes and stores (memory: 15 × days × land cells ×
    8 bytes).
    A spin-up of a few years (from ``resources/biome_parameters.json``) precedes the output period.
    """
    start_year, end_year = int(start_year), int(end_year)
    if end_year < start_year:
        raise InputError(f"END_YEAR {end_year} is before START_YEAR {start_year}")
    if pet_method not in PET_METHODS:
        raise InputError(f"PET method must be one of {', '.join(PET_METHODS)}; got {pet_method!r}")
    land_mask = np.asarray(geography.land, dtype=bool)
    if not land_mask.any():
        raise InputError("the study area has no land cells")
    table = biome_table()
    const = table.constants
    spin = int(const["spin_up_years"] if spin_up_years is None else spin_up_years)
    rng = np.random.default_rng([int(seed), 11])

    # ---- per-cell parameters --------------------------------------------------------------
    biome = geography.biome[land_mask].astype(np.intp)
    lon2d, lat2d = geography.lon_lat()
    lon, lat = lon2d[land_mask], lat2d[land_mask]
    n = biome.size
    p = {name: table.lookup(name, biome) for name in table.values}
    elevation = geography.elevation[land_mask]
    mean_t = geography.mean_temperature[land_mask]
    amplitude = geography.temperature_amplitude[land_mask]
    annual_p = geography.annual_precipitation[land_mask]
    continentality = np.clip(geography.distance_to_coast[land_mask] / 1500.0, 0.0, 1.0)
    south = lat < 0.0
    row_lat, row_of_cell = np.unique(lat, return_inverse=True)
    cell_noise = smooth_field(lon, lat, rng, waves=16, wavelength=(8.0, 40.0))
    rain_amp = np.clip(p["seasonal_amplitude"] * (1.0 + 0.15 * cell_noise), 0.0, 0.95)
    rain_peak = table.rain_peak_day[biome] + 8.0 * cell_noise + np.where(south, 182.6, 0.0)
    temp_peak = 196.0 + 22.0 * (1.0 - continentality) + np.where(south, 182.6, 0.0)
    wet_fraction = p["wet_day_fraction"]
    persistence = p["persistence"]
    shape = p["gamma_shape"]
    frequency_share = p["frequency_share"]
    depths = np.array([10.0 * (b - t) for t, b in SOIL_LAYERS_CM])
    soil = physics.SoilParameters.from_volumetric(
        depths, p["porosity"], p["field_capacity"], p["wilting_point"], table.roots[biome].T,
        p["drainage_rate"], p["infiltration_capacity"], p["bypass_share"],
        const["capillary_rate_per_day"])
    dew_point = mean_t - p["diurnal_range"]
    hygroscopic_max = 0.8 * soil.wilting_point[0]
    t_sigma = 1.2 + 3.5 * (np.abs(lat) / 90.0) * (0.5 + continentality)
    t_phi = 0.75
    dry_warming = float(const["dry_spell_warming_c"])
    warming = float(const["warming_c_per_decade"]) / 10.0
    alpha = float(const["priestley_taylor_alpha"])

    # ---- calendar ---------------------------------------------------------------------------
    first = np.datetime64(f"{start_year - spin}-01-01")
    record_start = np.datetime64(f"{start_year}-01-01")
    last = np.datetime64(f"{end_year + 1}-01-01")
    days = np.arange(first, last, dtype="datetime64[D]")
    months_all = days.astype("datetime64[M]")
    years_all = days.astype("datetime64[Y]").astype(int) + 1970
    doy_all = (days - days.astype("datetime64[Y]")).astype(int) + 1
    recorded = days >= record_start
    daily_dates = days[recorded]
    monthly_dates = np.unique(months_all[recorded]).astype("datetime64[D]")
    month_index = (months_all - np.datetime64(f"{start_year}-01", "M")).astype(int)
    n_days, n_months = daily_dates.size, monthly_dates.size

    # ---- state --------------------------------------------------------------------------------
    water = soil.wilting_point + 0.6 * (soil.field_capacity - soil.wilting_point)
    swe = np.zeros(n)
    t_soil = mean_t.copy()
    t_anomaly = np.zeros(n)
    wet = rng.random(n) < wet_fraction
    t_smooth = mean_t.copy()
    stress_smooth = np.ones(n)
    month_field = np.zeros(n)
    year_field = np.zeros(n)

    precip_out = np.full((n_days,) + land_mask.shape, np.nan, dtype=np.float32)
    precip_flat = precip_out.reshape(n_days, -1)
    land_flat = np.flatnonzero(land_mask.ravel())
    acc = {k: np.zeros((n_months, n)) for k in ("sm0", "sm1", "sm2", "et", "ta", "lst", "gpp")}
    days_in_month = np.zeros(n_months)
    totals = {k: np.zeros(n) for k in ("precipitation", "evapotranspiration", "runoff", "drainage")}
    diag = {k: np.zeros((n_days, n)) for k in _DIAGNOSTICS} if diagnostics else None
    initial_water = initial_swe = None
    report_every = 30
    previous_month = None
    previous_year = None

    for step in range(days.size):
        month = months_all[step]
        year = years_all[step]
        doy = doy_all[step]
        if year != previous_year:
            year_field = smooth_field(lon, lat, rng, waves=16, wavelength=(20.0, 80.0))
            previous_year = year
        if month != previous_month:
            fresh = smooth_field(lon, lat, rng, waves=16, wavelength=(15.0, 60.0))
            month_field = 0.3 * month_field + np.sqrt(1.0 - 0.09) * fresh
            previous_month = month
            # large-scale wet/dry anomaly of the month: scales rain, cools wet months
            wetness = 0.35 * month_field + 0.15 * year_field
            rain_factor = np.exp(wetness - 0.5 * (0.35 ** 2 + 0.15 ** 2))
        if days[step] == record_start:
            initial_water = water.sum(axis=0).copy()
            initial_swe = swe.copy()

        # weather
        season = weather.seasonal_factor(doy, rain_peak, rain_amp)
        pi = np.clip(wet_fraction * season ** frequency_share * np.sqrt(rain_factor), 0.003, 0.95)
        p01, p11 = weather.markov_transitions(pi, persistence)
        wet = rng.random(n) < np.where(wet, p11, p01)
        mean_amount = annual_p / weather.YEAR_DAYS * season * rain_factor / pi
        amount = rng.gamma(shape, 1.0, n) * mean_amount / shape
        precipitation = np.where(wet, amount, 0.0)
        t_anomaly = t_phi * t_anomaly + t_sigma * np.sqrt(1.0 - t_phi ** 2) * rng.standard_normal(n)
        t_air = (mean_t + amplitude * np.cos(2.0 * np.pi * (doy - temp_peak) / weather.YEAR_DAYS)
                 + warming * (year - 2000) + t_anomaly + dry_warming * (pi - wet)
                 - 1.0 * wetness)
        ra = weather.extraterrestrial_radiation(row_lat, doy)[row_of_cell]
        sunshine = np.where(wet, 0.2, 0.85)
        shortwave = ra * (0.25 + 0.5 * sunshine)
        diurnal = p["diurnal_range"] * np.where(wet, 0.6, 1.0)
        cover = physics.snow_cover(swe)
        if pet_method == "priestley_taylor":
            albedo = p["albedo"] * (1.0 - cover) + const["snow_albedo"] * cover
            rn = weather.net_radiation(shortwave, ra, t_air, t_air - 0.5 * diurnal, elevation,
                                       albedo)
            pet = weather.priestley_taylor_pet(t_air, rn, elevation, alpha)
        else:
            pet = weather.hargreaves_pet(t_air, diurnal, ra)

        # snow and soil temperature
        swe, rainfall, snowfall, melt, sublimation = physics.snow_step(
            swe, precipitation, t_air, pet, const["snow_threshold_c"],
            const["degree_day_factor_mm_per_c"], const["sublimation_share_of_pet"])
        cover = physics.snow_cover(swe)
        t_soil = physics.soil_temperature_step(t_soil, t_air, cover,
                                               const["soil_temperature_response_days"])
        frozen = t_soil < 0.0

        # vegetation state (phenology from smoothed temperature and water availability)
        t_smooth += (t_air - t_smooth) / 15.0
        warmth = np.clip((t_smooth - p["t_min"]) / (0.5 * (p["t_opt"] - p["t_min"])), 0.0, 1.0)
        moisture = np.clip(stress_smooth / 0.6, 0.0, 1.0)
        leaf = p["leaf_min"] + (1.0 - p["leaf_min"]) * warmth * moisture
        green = p["max_cover"] * leaf
        open_ground = 1.0 - cover
        liquid = rainfall + melt
        # hygroscopic water of the top layer follows relative humidity (dew point ≈ the
        # climate's mean daily minimum): high in cool seasons, low in hot ones
        humidity = np.clip(weather.saturation_vapour_pressure(dew_point)
                           / weather.saturation_vapour_pressure(np.maximum(t_smooth, dew_point)),
                           0.1, 1.0)
        water, flux = physics.soil_step(water, liquid, frozen,
                                        pet * green * open_ground,
                                        pet * (1.0 - green) * open_ground, soil,
                                        hygroscopic_water=hygroscopic_max * humidity)
        stress_smooth += (flux["water_stress"] - stress_smooth) / 30.0
        et = flux["evapotranspiration"] + sublimation
        t_factor = physics.temperature_response(t_air, p["t_min"], p["t_opt"], p["t_max"])
        gpp = physics.gross_primary_production(shortwave, green * open_ground,
                                               p["light_use_efficiency"], t_factor,
                                               np.where(frozen, 0.0,
                                                        0.5 + 0.5 * flux["water_stress"]))
        evaporative_stress = np.clip(1.0 - np.divide(et, pet, out=np.ones(n), where=pet > 0.2),
                                     0.0, 1.0)
        evaporative_stress = np.where(pet > 0.2, evaporative_stress, 0.0)
        lst = physics.land_surface_temperature(t_air, shortwave, evaporative_stress,
                                               p["lst_stress_gain"], cover)

        if recorded[step]:
            t = step - (days.size - n_days)
            m = month_index[step]
            precip_flat[t, land_flat] = precipitation
            a = acc
            a["sm0"][m] += water[0] / depths[0]
            a["sm1"][m] += water[1] / depths[1]
            a["sm2"][m] += water[2] / depths[2]
            a["et"][m] += et
            a["ta"][m] += t_air
            a["lst"][m] += lst
            a["gpp"][m] += gpp
            days_in_month[m] += 1
            totals["precipitation"] += precipitation
            totals["evapotranspiration"] += et
            totals["runoff"] += flux["runoff"]
            totals["drainage"] += flux["drainage"]
            if diag is not None:
                row = {"precipitation": precipitation, "rainfall": rainfall, "snowfall": snowfall,
                       "melt": melt, "infiltration": flux["infiltration"], "runoff": flux["runoff"],
                       "drainage": flux["drainage"], "evapotranspiration": et,
                       "soil_water": water.sum(axis=0), "snow_water_equivalent": swe,
                       "soil_temperature": t_soil, "frozen": frozen, "liquid_input": liquid,
                       "air_temperature": t_air, "potential_evapotranspiration": pet}
                for key, value in row.items():
                    diag[key][t] = value
        if report is not None and (step % report_every == 0 or step == days.size - 1):
            report.progress((step + 1) / days.size)

    per_day = days_in_month[:, None]
    soil_moisture = np.stack([_scatter(acc[f"sm{i}"] / per_day, land_mask) for i in range(3)])
    water_balance = {
        "precipitation": _scatter_map(totals["precipitation"], land_mask),
        "evapotranspiration": _scatter_map(totals["evapotranspiration"], land_mask),
        "runoff": _scatter_map(totals["runoff"], land_mask),
        "drainage": _scatter_map(totals["drainage"], land_mask),
        "storage_change": _scatter_map(water.sum(axis=0) - initial_water, land_mask),
        "snow_change": _scatter_map(swe - initial_swe, land_mask),
    }
    daily = None
    if diag is not None:
        daily = {k: _scatter(v, land_mask, np.float64) for k, v in diag.items()}
        daily["initial_soil_water"] = _scatter_map(initial_water, land_mask)
        daily["initial_snow_water_equivalent"] = _scatter_map(initial_swe, land_mask)
    props = {name: _scatter_map(p[name], land_mask)
             for name in ("porosity", "field_capacity", "wilting_point")}
    return SyntheticWorld(
        geography=geography, daily_dates=daily_dates, precipitation=precip_out,
        monthly_dates=monthly_dates, soil_moisture=soil_moisture,
        evapotranspiration=_scatter(acc["et"], land_mask),
        air_temperature=_scatter(acc["ta"] / per_day, land_mask),
        land_surface_temperature=_scatter(acc["lst"] / per_day + 273.15, land_mask),
        gross_primary_production=_scatter(acc["gpp"] / per_day, land_mask),
        soil_properties=props, water_balance=water_balance,
        settings={"start_year": start_year, "end_year": end_year, "seed": int(seed),
                  "pet_method": pet_method, "spin_up_years": spin},
        daily_diagnostics=daily,
    )
