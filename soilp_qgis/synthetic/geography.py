"""Geography of the synthetic study area: continents, relief, climate normals and WWF biomes.

The world is defined by smooth fields of longitude and latitude (continent shapes, mountain ranges,
seeded noise made of plane waves), so any extent and resolution cuts a window out of the same world.
Climate normals (mean annual air temperature, its seasonal amplitude, annual precipitation and the
share of it that falls in winter) follow from latitude, elevation, continentality and the distance
to the western and eastern coasts; the biome of a land cell follows from its climate (a Köppen-like
aridity threshold, warmth and cold limits), its relief and a few azonal features (lakes, wetlands,
tropical coasts for mangroves). Alternatively the biomes come from a given raster, and the climate
is held inside each biome's envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .parameters import biome_table

KM_PER_DEGREE = 111.2

# (lon, lat, half-width east-west in km-scaled degrees, half-height in degrees)
_CONTINENTS = (
    (-100.0, 50.0, 36.0, 21.0),   # northern continent of the west
    (-92.0, 20.0, 12.0, 8.0),     # its southern isthmus
    (-66.0, 3.0, 16.0, 11.0),     # tropical land of the west
    (-42.0, 73.0, 6.0, 9.0),      # ice-covered island
    (15.0, 51.0, 22.0, 12.0),     # western peninsula of the eastern continent
    (95.0, 52.0, 46.0, 20.0),     # eastern continent
    (14.0, 15.0, 31.0, 15.0),     # northern half of the southern continent
    (46.0, 24.0, 10.0, 8.0),      # desert peninsula
    (78.0, 20.0, 8.0, 10.0),      # monsoon subcontinent
    (103.0, 16.0, 9.0, 8.0),      # south-eastern peninsula
    (118.0, 2.0, 16.0, 5.0),      # equatorial islands
    (138.0, 38.0, 4.0, 7.0),      # eastern island arc
    (-62.0, -22.0, 16.0, 18.0),   # southern continents (for southern extents)
    (24.0, -16.0, 16.0, 16.0),
    (134.0, -25.0, 18.0, 10.0),
)

# (lon, lat, half-width km-scaled degrees, half-height degrees, height m)
_MOUNTAINS = (
    (-113.0, 46.0, 5.0, 16.0, 2500.0),   # western cordillera
    (-102.0, 23.0, 5.0, 5.0, 2100.0),    # high plateau of the isthmus
    (-42.0, 73.0, 7.0, 7.0, 2600.0),     # ice dome
    (88.0, 33.0, 12.0, 4.5, 4700.0),     # high plateau
    (80.0, 42.0, 7.0, 2.0, 3400.0),      # interior range
    (100.0, 46.0, 11.0, 4.0, 1500.0),    # interior upland
    (56.0, 32.0, 10.0, 4.0, 1500.0),     # western plateau
    (10.0, 46.0, 4.0, 1.8, 2200.0),      # western range
    (39.0, 9.0, 4.0, 4.0, 2600.0),       # tropical highland
    (-74.0, 2.0, 3.0, 9.0, 2900.0),      # tropical cordillera
    (102.0, 26.0, 4.0, 3.0, 1900.0),     # monsoon highland
    (-68.0, -24.0, 3.0, 15.0, 3600.0),   # southern cordillera
)

# (lon, lat, radius in km-scaled degrees)
_LAKES = ((-84.0, 45.5, 3.2), (50.5, 42.0, 3.4), (108.0, 53.0, 2.4), (-120.0, 65.0, 2.6),
          (32.0, 61.0, 2.2), (33.0, -1.0, 2.2))
_WETLANDS = ((31.0, 8.0, 4.0), (-3.0, 14.5, 3.0), (88.5, 23.5, 2.6), (46.5, 31.0, 2.6),
             (-57.0, -17.0, 3.5), (23.0, -19.0, 2.5))


@dataclass
class Geography:
    """A lon/lat grid with its land, biomes and climate normals; row 0 is the northernmost.

    Arrays are ``(rows, cols)``; climate fields are NaN over the sea.
    """

    extent: tuple[float, float, float, float]      # (xmin, ymin, xmax, ymax) in degrees
    resolution: float                               # cell size in degrees
    lon: np.ndarray                                 # (cols,) cell-centre longitudes
    lat: np.ndarray                                 # (rows,) cell-centre latitudes, descending
    land: np.ndarray                                # bool
    biome: np.ndarray                               # uint8 WWF code, 0 = sea / no land
    elevation: np.ndarray                           # m
    distance_to_coast: np.ndarray                   # km
    mean_temperature: np.ndarray                    # °C, annual mean
    temperature_amplitude: np.ndarray               # °C, half the warmest-minus-coldest month
    annual_precipitation: np.ndarray                # mm/year
    seed: int = 0
    source: str = "generated"                       # "generated" or "given"
    extras: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.land.shape

    @property
    def transform(self):
        """The affine transform of the grid (north-up), for rasterio."""
        from affine import Affine
        return Affine(self.resolution, 0.0, self.extent[0], 0.0, -self.resolution, self.extent[3])

    @property
    def crs(self) -> str:
        return "EPSG:4326"

    def lon_lat(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre longitude and latitude as ``(rows, cols)`` arrays."""
        return np.meshgrid(self.lon, self.lat)


def _grid(extent, resolution) -> tuple[np.ndarray, np.ndarray]:
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
    except (TypeError, ValueError):
        raise InputError(f"EXTENT must be four numbers (xmin, ymin, xmax, ymax); "
                         f"got {extent!r}") from None
    resolution = float(resolution)
    if not resolution > 0:
        raise InputError(f"RESOLUTION must be positive; got {resolution}")
    if not (-180.0 <= xmin < xmax <= 180.0 and -90.0 <= ymin < ymax <= 90.0):
        raise InputError(f"EXTENT must lie within longitude -180…180 and latitude -90…90 with "
                         f"xmin < xmax and ymin < ymax; got {tuple(extent)}")
    sizes = []
    for name, span in (("width", xmax - xmin), ("height", ymax - ymin)):
        count = span / resolution
        if abs(count - round(count)) > 1e-6 * max(1.0, count):
            raise InputError(f"EXTENT {name} {span:g}° is not a whole multiple of RESOLUTION "
                             f"{resolution:g}°")
        sizes.append(int(round(count)))
    cols, rows = sizes
    lon = xmin + (np.arange(cols) + 0.5) * resolution
    lat = ymax - (np.arange(rows) + 0.5) * resolution
    return lon, lat


def smooth_field(lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator, waves: int = 24,
                 wavelength: tuple[float, float] = (12.0, 60.0)) -> np.ndarray:
    """A seeded, spatially smooth random field of unit variance (a sum of plane waves).

    Zonal wavenumbers are whole numbers per 360°, so the field is periodic in longitude and any
    window of the globe shows the same values. ``wavelength`` is the range in degrees.
    """
    k = 360.0 / rng.uniform(wavelength[0], wavelength[1], waves)
    angle = rng.uniform(0.0, np.pi, waves)
    kx = np.round(k * np.cos(angle))
    ky = k * np.sin(angle)
    phase = rng.uniform(0.0, 2.0 * np.pi, waves)
    lon = np.asarray(lon, dtype=float)[..., None]
    lat = np.asarray(lat, dtype=float)[..., None]
    arg = 2.0 * np.pi * (kx * lon + ky * lat) / 360.0 + phase
    return np.sqrt(2.0 / waves) * np.cos(arg).sum(axis=-1)


def _ellipse_distance(lon, lat, lon0, lat0, half_width, half_height):
    """Normalised elliptic distance (1 on the rim) with longitudes scaled by cos(lat0)."""
    dlon = (lon - lon0 + 180.0) % 360.0 - 180.0
    dx = dlon * np.cos(np.radians(lat0)) / half_width
    dy = (lat - lat0) / half_height
    return np.sqrt(dx * dx + dy * dy)


def _land_field(lon, lat, centres, noise):
    best = np.full(np.shape(lon), -np.inf)
    for (lon0, lat0, a, b), (jx, jy) in zip(_CONTINENTS, centres):
        best = np.maximum(best, 1.0 - _ellipse_distance(lon, lat, lon0 + jx, lat0 + jy, a, b))
    return best + 0.28 * noise


def _run_length(land: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """Cells to the nearest sea cell along ``axis`` (counting itself); grid edges count as land."""
    arr = np.moveaxis(land, axis, -1)
    if reverse:
        arr = arr[..., ::-1]
    n = arr.shape[-1]
    index = np.broadcast_to(np.arange(n), arr.shape)
    last_sea = np.maximum.accumulate(np.where(arr, -n * 10, index), axis=-1)
    dist = (index - last_sea).astype(float)
    dist[~arr] = 0.0
    if reverse:
        dist = dist[..., ::-1]
    return np.moveaxis(dist, -1, axis)


def coast_distances(land: np.ndarray, lat: np.ndarray, resolution: float) -> dict[str, np.ndarray]:
    """Distances (km) from each land cell to the sea westward, eastward and the nearest (4 axes)."""
    dx = resolution * KM_PER_DEGREE * np.cos(np.radians(lat))[:, None]
    dy = resolution * KM_PER_DEGREE
    west = _run_length(land, 1, reverse=False) * dx
    east = _run_length(land, 1, reverse=True) * dx
    north = _run_length(land, 0, reverse=False) * dy
    south = _run_length(land, 0, reverse=True) * dy
    nearest = np.minimum(np.minimum(west, east), np.minimum(north, south))
    return {"west": west, "east": east, "nearest": nearest}


def climate_normals(lat: np.ndarray, elevation: np.ndarray, coast: dict[str, np.ndarray],
                    noise: np.ndarray) -> dict[str, np.ndarray]:
    """Climate normals of land cells from latitude, elevation and distances to the coasts.

    Returns mean annual temperature (°C), its seasonal amplitude (°C), annual precipitation (mm),
    the share of precipitation that falls in the summer half-year and a Mediterranean index (0–1).
    """
    alat = np.abs(lat)
    continentality = 1.0 - np.exp(-coast["nearest"] / 900.0)
    east_coast = np.exp(-coast["east"] / 700.0)
    west_coast = np.exp(-coast["west"] / 1400.0)
    mean_t = (28.0 - 50.0 * (alat / 90.0) ** 1.8 - 5.0 * elevation / 1000.0
              - 9.0 * continentality * (alat / 90.0) + 0.8 * noise)
    amplitude = 1.2 + (alat / 90.0) * (5.0 + 20.0 * continentality) + 0.3 * np.abs(noise)
    itcz = (2300.0 * np.exp(-((lat - 4.0) / 10.0) ** 2)
            * (0.55 + 0.45 * np.exp(-coast["nearest"] / 1500.0)))
    monsoon = 1500.0 * np.exp(-((alat - 22.0) / 8.0) ** 2) * east_coast
    westerly = 1100.0 * np.exp(-((alat - 50.0) / 11.0) ** 2) * (0.3 + 0.7 * west_coast)
    convective = 450.0 * np.exp(-((alat - 48.0) / 14.0) ** 2) * continentality
    orographic = 0.25 * elevation * (0.5 * west_coast + 0.5 * east_coast)
    base = 70.0
    cold = np.clip(np.exp(0.05 * (mean_t - 5.0)), 0.35, 1.0)
    total = ((itcz + monsoon + westerly + convective + orographic + base)
             * cold * np.exp(0.25 * noise))
    mediterranean = np.exp(-((alat - 37.0) / 6.0) ** 2) * west_coast
    summer = (0.8 * itcz * np.clip(alat / 8.0, 0.0, 1.0) + monsoon + convective
              + 0.5 * (itcz * (1 - np.clip(alat / 8.0, 0.0, 1.0)) + westerly * (1 - mediterranean)
                       + orographic + base))
    raw = itcz + monsoon + westerly + convective + orographic + base
    return {"mean_temperature": mean_t, "temperature_amplitude": amplitude,
            "annual_precipitation": total, "summer_share": summer / raw,
            "mediterranean_index": mediterranean, "continentality": continentality}


def classify_biomes(lat, land, elevation, climate, lake, wetland, coastal,
                    mangrove_noise) -> np.ndarray:
    """WWF biome codes from climate, relief and azonal features (0 where not land)."""
    t = climate["mean_temperature"]
    amp = climate["temperature_amplitude"]
    p = climate["annual_precipitation"]
    warm, cold = t + amp, t - amp
    # Köppen-like aridity threshold (mm): higher when warm and when rain falls in summer
    threshold = 20.0 * np.maximum(t, 0.0) + 280.0 * climate["summer_share"]
    desert = p < 0.5 * threshold
    dry = p < threshold
    tropical = cold > 16.0
    med = (climate["mediterranean_index"] > 0.45) & (cold > 3.0) & (p < 1100.0)
    conditions = [
        ~land,
        lake,
        (warm < 2.0) | (elevation > 5300.0),
        (elevation > 2300.0) & (np.abs(lat) < 50.0),
        warm < 10.5,
        wetland & (cold > 10.0) & (elevation < 800.0),
        tropical & coastal & (p > 900.0) & (mangrove_noise > 0.7),
        desert,
        tropical & (p < 1000.0),
        tropical & (elevation > 900.0),
        tropical & (p < 1700.0),
        tropical,
        dry & (cold > 12.0),
        dry,
        t < 4.0,
        med,
        (elevation > 1000.0) | ((climate.get("west_coast", 0.0) > 0.6) & (p > 1300.0)),
    ]
    choices = [0, 98, 99, 10, 11, 9, 14, 13, 7, 3, 2, 1, 7, 8, 6, 12, 5]
    return np.select(conditions, choices, default=4).astype(np.uint8)


def _hold_in_envelope(biome: np.ndarray, climate: dict[str, np.ndarray]) -> None:
    table = biome_table()
    codes = biome.astype(np.intp)
    p_lo, p_hi = table.precipitation_range[codes, 0], table.precipitation_range[codes, 1]
    t_lo, t_hi = table.temperature_range[codes, 0], table.temperature_range[codes, 1]
    climate["annual_precipitation"] = np.clip(climate["annual_precipitation"], p_lo, p_hi)
    climate["mean_temperature"] = np.clip(climate["mean_temperature"], t_lo, t_hi)


def make_geography(extent=(-180.0, 0.0, 180.0, 90.0), resolution: float = 2.0, seed: int = 0,
                   biome_codes: np.ndarray | None = None) -> Geography:
    """The synthetic study area on a lon/lat grid (row 0 northernmost).

    Without ``biome_codes`` the land, relief, climate and biomes are generated (deterministic per
    ``seed``); with it (a ``(rows, cols)`` array of WWF codes on this grid, 0 = no land) the
    biomes are taken as given and the climate is generated from latitude and distance to the
    coast, held inside each biome's envelope.
    """
    lon, lat = _grid(extent, resolution)
    extent = tuple(float(v) for v in extent)
    rows, cols = lat.size, lon.size
    rng = np.random.default_rng([int(seed), 7])
    table = biome_table()

    if biome_codes is None:
        # a padded window so coast distances see the land beyond the extent
        pad_x = 90.0 // resolution * resolution
        pad_y = 20.0 // resolution * resolution
        nx_pad, ny_pad = int(round(pad_x / resolution)), int(round(pad_y / resolution))
        plon = extent[0] + (np.arange(-nx_pad, cols + nx_pad) + 0.5) * resolution
        plat = extent[3] - (np.arange(-ny_pad, rows + ny_pad) + 0.5) * resolution
        plat = np.clip(plat, -89.99, 89.99)
        pad_lon_grid, pad_lat_grid = np.meshgrid(plon, plat)
        centres = rng.uniform(-2.5, 2.5, (len(_CONTINENTS), 2))
        land_noise = smooth_field(pad_lon_grid, pad_lat_grid, rng, wavelength=(8.0, 40.0))
        relief_noise = smooth_field(pad_lon_grid, pad_lat_grid, rng, wavelength=(5.0, 25.0))
        climate_noise = smooth_field(pad_lon_grid, pad_lat_grid, rng, wavelength=(10.0, 50.0))
        feature_noise = smooth_field(pad_lon_grid, pad_lat_grid, rng, wavelength=(4.0, 16.0))
        land_pad = _land_field(pad_lon_grid, pad_lat_grid, centres, land_noise) > 0.0
        land_pad &= np.abs(pad_lat_grid) < 86.0
        coast_pad = coast_distances(land_pad, plat, resolution)
        window = (slice(ny_pad, ny_pad + rows), slice(nx_pad, nx_pad + cols))
        land = land_pad[window]
        lon_grid, lat_grid = pad_lon_grid[window], pad_lat_grid[window]
        coast = {k: v[window] for k, v in coast_pad.items()}
        relief = np.zeros_like(lon_grid)
        for lon0, lat0, a, b, h in _MOUNTAINS:
            d = _ellipse_distance(lon_grid, lat_grid, lon0, lat0, a, b)
            relief += h * np.exp(-d * d)
        elevation = np.where(land, np.maximum(relief * (1.0 + 0.18 * relief_noise[window])
                                              + 250.0 * (1.0 + relief_noise[window])
                                              * (1.0 - np.exp(-coast["nearest"] / 500.0)),
                                              2.0), 0.0)
        climate = climate_normals(lat_grid, elevation, coast, climate_noise[window])
        climate["west_coast"] = np.exp(-coast["west"] / 1400.0)
        lake = np.zeros_like(land)
        for lon0, lat0, r in _LAKES:
            lake |= (_ellipse_distance(lon_grid, lat_grid, lon0, lat0, r, r)
                     < 1.0 + 0.25 * feature_noise[window])
        wetland = np.zeros_like(land)
        for lon0, lat0, r in _WETLANDS:
            wetland |= (_ellipse_distance(lon_grid, lat_grid, lon0, lat0, r, r)
                        < 1.0 + 0.25 * feature_noise[window])
        sea = ~land_pad
        near_sea = np.zeros_like(sea)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                near_sea |= np.roll(np.roll(sea, dy, axis=0), dx, axis=1)
        coastal = land & near_sea[window]
        lake &= land & ~coastal
        biome = classify_biomes(lat_grid, land, elevation, climate, lake, wetland, coastal,
                                feature_noise[window])
        source = "generated"
    else:
        biome = np.asarray(biome_codes)
        if biome.shape != (rows, cols):
            raise InputError(f"ECOREGIONS raster has {biome.shape[0]} rows × {biome.shape[1]} "
                             f"columns but EXTENT/RESOLUTION give {rows} × {cols}")
        valid = set(table.codes) | {0}
        found = set(np.unique(biome).astype(int).tolist())
        if not found <= valid:
            raise InputError(f"ECOREGIONS raster holds codes {sorted(found - valid)} that are not "
                             f"WWF biome codes (1–14, 98, 99; 0 = no land)")
        biome = biome.astype(np.uint8)
        land = biome > 0
        lon_grid, lat_grid = np.meshgrid(lon, lat)
        noise = smooth_field(lon_grid, lat_grid, rng, wavelength=(10.0, 50.0))
        coast = coast_distances(land, lat, resolution)
        elevation = np.where(land, table.lookup("elevation", biome) * (1.0 + 0.1 * noise), 0.0)
        climate = climate_normals(lat_grid, elevation, coast, noise)
        source = "given"

    _hold_in_envelope(biome, climate)
    nan_sea = lambda a: np.where(land, a, np.nan)  # noqa: E731
    return Geography(
        extent=extent, resolution=float(resolution), lon=lon, lat=lat, land=land, biome=biome,
        elevation=nan_sea(elevation), distance_to_coast=nan_sea(coast["nearest"]),
        mean_temperature=nan_sea(climate["mean_temperature"]),
        temperature_amplitude=nan_sea(climate["temperature_amplitude"]),
        annual_precipitation=nan_sea(climate["annual_precipitation"]),
        seed=int(seed), source=source,
        extras={"continentality": nan_sea(climate["continentality"])},
    )
