"""``synthetic_world``: the built-in study area as time stacks and ecoregions
(soilp:syntheticworld).

Parameters: ``output_folder`` (required), ``extent`` (default the Northern Hemisphere; a list
``[xmin, ymin, xmax, ymax]`` or QGIS's extent text ``"xmin,xmax,ymin,ymax [EPSG:4326]"``),
``resolution`` (degrees, default 2), ``start_year`` (2000), ``end_year`` (2019), ``seed`` (0),
``ecoregions`` (optional WWF biome raster in EPSG:4326: the biomes are sampled from it at the
centre of each cell of the extent/resolution grid instead of being generated), ``pet_method``
(``priestley_taylor`` or ``hargreaves``).

Writes into the folder: ``precipitation_daily.tif`` (mm/day), ``soil_moisture_0_7cm.tif``,
``soil_moisture_7_28cm.tif``, ``soil_moisture_28_100cm.tif`` (m³/m³), ``evapotranspiration.tif``
(mm/month), ``air_temperature.tif`` (°C), ``land_surface_temperature.tif`` (K),
``gross_primary_production.tif`` (g C m⁻² d⁻¹) — monthly unless named daily — and the
ecoregions as ``ecoregions.tif`` (WWF code, 0 = sea) and ``ecoregion_polygons.gpkg`` (layer
``ecoregions``, fields ``BIOME``, ``BIOME_NAME``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError
from ..protocol import Reporter
from ..styles import biome_style, biome_vector_style, write_sidecar_style
from ..synthetic import biome_polygons, make_geography, simulate
from ..synthetic.simulate import PET_METHODS
from ..timestack import Grid, read_raster, write_raster, write_stack
from .common import write_geopackage
from .outputs import StepOutputs, engine_step

DEFAULT_EXTENT = (-180.0, 0.0, 180.0, 90.0)
#: the largest daily precipitation stack the step builds in memory (bytes)
MAX_DAILY_BYTES = 6 * 2**30

#: stack name → (result key, file name, layer name shown in QGIS)
OUTPUTS_BY_STACK = {
    "precipitation": ("PRECIPITATION", "precipitation_daily.tif", "Precipitation (daily, mm/day)"),
    "soil_moisture_0_7cm": ("SOIL_MOISTURE_0_7CM", "soil_moisture_0_7cm.tif",
                            "Soil moisture 0–7 cm (monthly, m³/m³)"),
    "soil_moisture_7_28cm": ("SOIL_MOISTURE_7_28CM", "soil_moisture_7_28cm.tif",
                             "Soil moisture 7–28 cm (monthly, m³/m³)"),
    "soil_moisture_28_100cm": ("SOIL_MOISTURE_28_100CM", "soil_moisture_28_100cm.tif",
                               "Soil moisture 28–100 cm (monthly, m³/m³)"),
    "evapotranspiration": ("EVAPOTRANSPIRATION", "evapotranspiration.tif",
                           "Evapotranspiration (monthly, mm/month)"),
    "air_temperature": ("AIR_TEMPERATURE", "air_temperature.tif", "Air temperature (monthly, °C)"),
    "land_surface_temperature": ("LAND_SURFACE_TEMPERATURE", "land_surface_temperature.tif",
                                 "Land surface temperature (monthly, K)"),
    "gross_primary_production": ("GPP", "gross_primary_production.tif",
                                 "GPP (monthly, g C m⁻² d⁻¹)"),
}


#: the ecoregion files written beside the stacks
ECOREGION_FILES = ("ecoregions.tif", "ecoregions.qml", "ecoregion_polygons.gpkg",
                   "ecoregion_polygons.qml")


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``synthetic_world`` (soilp:syntheticworld)."""

    STEP = "synthetic_world"

    extent: Any = contract.extent()
    resolution: float = contract.number(2.0, minimum=0.05, maximum=30.0)
    start_year: int = contract.integer(2000, minimum=1900, maximum=2100)
    end_year: int = contract.integer(2019, minimum=1900, maximum=2100)
    seed: int = contract.integer(0, minimum=0)
    ecoregions: str | None = contract.raster(required=False)
    pet_method: str = contract.choice(PET_METHODS, "priestley_taylor")
    output_folder: str = contract.folder_output(required=True)

    def validate(self) -> None:
        if self.end_year < self.start_year:
            raise InputError(f"END_YEAR {self.end_year} is before START_YEAR {self.start_year}")
        parse_extent(self.extent)

    def derived_outputs(self) -> dict[str, str]:
        folder = Path(self.output_folder)
        names = [name for _, name, _ in OUTPUTS_BY_STACK.values()] + list(ECOREGION_FILES)
        names += [name.replace(".tif", ".qml") for _, name, _ in OUTPUTS_BY_STACK.values()]
        return {f"OUTPUT_FOLDER ({name})": str(folder / name) for name in names}


OUTPUTS = (FileOutput("output_folder", "folder",
                      "the stacks (precipitation_daily.tif, soil_moisture_0_7cm.tif, …), "
                      "ecoregions.tif and ecoregion_polygons.gpkg"),)


def parse_extent(value: Any) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` from a list of four numbers in that order, or from QGIS's
    extent text ``"xmin,xmax,ymin,ymax [EPSG:4326]"`` (note QGIS's order)."""
    if value is None or value == "":
        return DEFAULT_EXTENT
    if isinstance(value, (list, tuple)):
        if len(value) != 4:
            raise InputError(f"EXTENT must be four numbers xmin, ymin, xmax, ymax; got {value!r}")
        try:
            return tuple(float(v) for v in value)  # type: ignore[return-value]
        except (TypeError, ValueError):
            raise InputError(f"EXTENT must be four numbers; got {value!r}") from None
    text = str(value).strip()
    match = re.fullmatch(r"([^\[]+?)\s*(?:\[(.*)\])?", text)
    crs = (match.group(2) or "").strip() if match else ""
    if crs and crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
        raise InputError(f"EXTENT must be in EPSG:4326 (longitude/latitude); got {crs}")
    parts = (match.group(1) if match else text).split(",")
    try:
        xmin, xmax, ymin, ymax = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"EXTENT {text!r} is not 'xmin,xmax,ymin,ymax [EPSG:4326]'") from None
    return (xmin, ymin, xmax, ymax)


def sample_biomes(path: str, extent, resolution: float) -> np.ndarray:
    """Biome codes of an ecoregion raster at the centre of each cell of the target grid (0 where
    the raster has no value or does not reach)."""
    data, grid = read_raster(path)
    if grid.crs is not None and grid.crs.to_epsg() != 4326:
        raise InputError(f"ECOREGIONS raster {Path(path).name} is in {grid.crs}; it must be in "
                         f"EPSG:4326 (longitude/latitude)")
    codes = np.nan_to_num(data[0], nan=0.0)
    xmin, ymin, xmax, ymax = extent
    cols = int(round((xmax - xmin) / resolution))
    rows = int(round((ymax - ymin) / resolution))
    lon = xmin + (np.arange(cols) + 0.5) * resolution
    lat = ymax - (np.arange(rows) + 0.5) * resolution
    t = grid.transform
    col_index = np.floor((lon - t.c) / t.a).astype(int)
    row_index = np.floor((lat - t.f) / t.e).astype(int)
    inside_c = (col_index >= 0) & (col_index < grid.width)
    inside_r = (row_index >= 0) & (row_index < grid.height)
    out = np.zeros((rows, cols), dtype=np.uint8)
    sub = codes[np.ix_(row_index[inside_r], col_index[inside_c])]
    out[np.ix_(inside_r, inside_c)] = sub.astype(np.uint8)
    return out


def _write_polygons(geography, path: Path) -> Path:
    write_geopackage(biome_polygons(geography), path, "ecoregions")
    write_sidecar_style(path, biome_vector_style())
    return path


@engine_step(Parameters, OUTPUTS)
def synthetic_world(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Generate (or take) the geography, simulate it and write its stacks and ecoregions."""
    folder = Path(p.output_folder)
    extent = parse_extent(p.extent)
    resolution, start_year, end_year, seed = p.resolution, p.start_year, p.end_year, p.seed
    cells = (round((extent[2] - extent[0]) / resolution)
             * round((extent[3] - extent[1]) / resolution))
    days = int((np.datetime64(f"{end_year + 1}-01-01") - np.datetime64(f"{start_year}-01-01"))
               .astype(int))
    if cells * days * 4 > MAX_DAILY_BYTES:
        raise InputError(f"the daily precipitation of {cells} cells × {days} days would need "
                         f"{cells * days * 4 / 2**30:.1f} GiB; choose a coarser RESOLUTION, a "
                         f"smaller EXTENT or fewer years")

    biome_codes = None
    if p.ecoregions:
        biome_codes = sample_biomes(str(p.ecoregions), extent, resolution)
        report.info(f"biomes sampled from {Path(str(p.ecoregions)).name} at the cell centres of "
                    f"the {resolution:g}° grid")
    geography = make_geography(extent, resolution, seed=seed, biome_codes=biome_codes)
    land = int(geography.land.sum())
    present = np.unique(geography.biome[geography.land])
    report.info(f"{land} land cells on a {geography.shape[1]}×{geography.shape[0]} grid, "
                f"{present.size} biomes; simulating {start_year}–{end_year} daily")
    world = simulate(geography, start_year, end_year, seed=seed, report=report.sub(0.0, 0.85),
                     pet_method=p.pet_method)

    x0, _, _, y1 = geography.extent
    grid = Grid.regular(x0, y1, resolution, geography.shape[1], geography.shape[0])
    staged = outputs.folder("output_folder")
    results: dict[str, Any] = {"OUTPUT_FOLDER": str(folder)}
    stacks = world.output_stacks()
    for i, stack in enumerate(stacks):
        key, file_name, label = OUTPUTS_BY_STACK[stack["name"]]
        write_stack(staged / file_name, stack["data"], grid, stack["dates"],
                    stack["time_scale"], stack["units"], description=stack["description"])
        results[key] = str(folder / file_name)
        report.load(results[key], label)
        report.progress(0.85 + 0.12 * (i + 1) / len(stacks))

    write_raster(staged / "ecoregions.tif", geography.biome, grid, np.uint8, 0,
                 band_names=["BIOME"], style_qml=biome_style(),
                 tags={"source": geography.source, "seed": seed})
    results["ECOREGIONS_RASTER"] = str(folder / "ecoregions.tif")
    report.load(results["ECOREGIONS_RASTER"], "Ecoregions (WWF biomes)")
    _write_polygons(geography, staged / "ecoregion_polygons.gpkg")
    results["ECOREGIONS"] = str(folder / "ecoregion_polygons.gpkg")
    report.load(results["ECOREGIONS"], "Ecoregions")
    report.progress(1.0)
    results["LAND_CELLS"] = land
    results["CELLS_PER_BIOME"] = {str(int(c)): int((geography.biome == c).sum()) for c in present}
    return results
