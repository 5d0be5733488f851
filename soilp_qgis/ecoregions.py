"""Ecoregions: WWF biome polygons rasterized onto a stack's grid, and per-ecoregion mean series.

An ecoregion raster holds integer codes, ``0`` = no ecoregion (ocean, no data). The WWF
Terrestrial Ecoregions store ``BIOME`` as a Real field (4.0); codes are cast to integers, and a
value that is not a whole number is an error. Biome names and colours come from
``resources/biomes.json`` (``biome_names``).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from .errors import InputError, StackMismatchError
from .tables import biome_names, biomes  # noqa: F401 - the biome table, re-exported here
from .timestack import Grid, read_raster

POLYGON_TYPES = ("Polygon", "MultiPolygon")
NO_ECOREGION = 0


class EcoregionPolygons(NamedTuple):
    """Polygons of a vector layer with their integer ecoregion codes."""

    geometries: object
    """GeoSeries of (Multi)Polygons, in the layer's CRS."""
    codes: np.ndarray
    """int64 code of each polygon (> 0)."""
    layer: str
    """Name of the layer read."""
    left_out: int
    """Features left out: empty geometry, or a code that is null or not positive."""


class EcoregionSeries(NamedTuple):
    """Mean of a stack over each ecoregion and time step: one row per (ecoregion, date)."""

    ecoregion: np.ndarray
    """int64 ecoregion code."""
    date: np.ndarray
    """datetime64[D] first day of the period."""
    mean: np.ndarray
    """float64 mean over the ecoregion's valid cells (unweighted); NaN where none is valid."""
    valid_cells: np.ndarray
    """int64 number of cells with a value at that date."""


def split_layer_uri(path: str | os.PathLike) -> tuple[str, str | None]:
    """``"file.gpkg|layername=biomes"`` (a QGIS layer source) → ``("file.gpkg", "biomes")``."""
    text = str(path)
    file_part, _, options = text.partition("|")
    layer = None
    for option in options.split("|") if options else []:
        key, _, value = option.partition("=")
        if key.strip().lower() == "layername" and value:
            layer = value
    return file_part, layer


def _vector_layer(path: str, layer: str | None) -> str:
    """The layer of ``path`` to read: ``layer`` if given and present, else the file's only layer."""
    import pyogrio

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several kinds; the reason matters
        raise InputError(f"cannot read ecoregion layer {path}: {exc}") from None
    if not layers:
        raise InputError(f"{path} holds no vector layer")
    if layer is None:
        if len(layers) > 1:
            raise InputError(f"{path} holds several layers ({', '.join(layers)}); name the "
                             "ecoregion layer")
        return layers[0]
    if layer not in layers:
        raise InputError(f"{path} has no layer {layer!r}; layers present: {', '.join(layers)}")
    return layer


def _integer_codes(values: np.ndarray, field: str, where: str) -> np.ndarray:
    """Codes as float64 with NaN for nulls; an error if a value is text or not a whole number."""
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"field {field!r} of {where} holds text, not integer ecoregion codes "
                         "(choose a numeric field such as BIOME or ECO_ID)") from None
    finite = numbers[np.isfinite(numbers)]
    fractional = finite[finite != np.round(finite)]
    if fractional.size:
        raise InputError(f"field {field!r} of {where} holds {fractional[0]:g}, not an integer "
                         "ecoregion code")
    return numbers


def read_ecoregion_polygons(vector_path: str | os.PathLike, field: str = "BIOME",
                            layer: str | None = None) -> EcoregionPolygons:
    """Read the polygons of an ecoregion layer and their integer codes from ``field``.

    ``vector_path`` may be a QGIS source ``file|layername=name``. Errors name the layer: not a
    polygon layer (with the geometry types found), ``field`` missing (with the fields present),
    a code that is text or not a whole number.
    """
    import geopandas
    import shapely

    path, uri_layer = split_layer_uri(vector_path)
    layer = _vector_layer(path, layer or uri_layer)
    where = f"layer {layer!r} of {path}"
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    fields = [str(name) for name in info["fields"]]
    if field not in fields:
        raise InputError(f"{where} has no field {field!r}; fields present: "
                         + (", ".join(fields) if fields else "none"))
    declared = str(info.get("geometry_type") or "")
    if declared and declared not in ("Unknown", "Unknown (any)") and "Polygon" not in declared:
        raise InputError(f"{where} is a {declared} layer; ecoregions must be polygons")
    frame = geopandas.read_file(path, layer=layer, columns=[field], engine="pyogrio")
    geometries = frame.geometry
    shapes = geometries.to_numpy()
    present = ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)
    kinds = set(geometries[present].geom_type)
    if kinds - set(POLYGON_TYPES):
        raise InputError(f"{where} holds {', '.join(sorted(kinds - set(POLYGON_TYPES)))} "
                         "geometries; ecoregions must be polygons")
    numbers = _integer_codes(frame[field].to_numpy(), field, where)
    usable = present & np.isfinite(numbers) & (numbers > 0)
    return EcoregionPolygons(geometries[usable], numbers[usable].astype(np.int64), layer,
                             int((~usable).sum()))


def code_dtype(codes: np.ndarray) -> np.dtype:
    """uint8 when every code fits 1–255 (WWF biomes), else int32 (e.g. ``ECO_ID``)."""
    codes = np.asarray(codes)
    if codes.size == 0 or codes.max() <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if codes.max() > np.iinfo(np.int32).max:
        raise InputError(f"ecoregion code {int(codes.max())} is too large for an integer raster")
    return np.dtype(np.int32)


def burn_ecoregions(polygons: EcoregionPolygons, grid: Grid) -> np.ndarray:
    """Rasterize polygons onto ``grid`` (a cell takes the code of the polygon holding its centre).

    The layer is reprojected to the grid's CRS when they differ (a layer without a CRS is taken
    to be in the grid's). Cells outside every polygon are ``0``.
    """
    from pyproj import CRS
    from rasterio.features import rasterize

    geometries = polygons.geometries
    if geometries.crs is not None and grid.crs is not None:
        grid_crs = CRS.from_wkt(grid.crs.to_wkt())
        if not geometries.crs.equals(grid_crs, ignore_axis_order=True):
            geometries = geometries.to_crs(grid_crs)
    dtype = code_dtype(polygons.codes)
    if len(geometries) == 0:
        return np.zeros((grid.height, grid.width), dtype=dtype)
    return rasterize(zip(geometries.to_numpy(), polygons.codes.tolist()),
                     out_shape=(grid.height, grid.width), transform=grid.transform,
                     fill=NO_ECOREGION, dtype=dtype)


def rasterize_ecoregions(vector_path: str | os.PathLike, grid: Grid, field: str = "BIOME",
                         layer: str | None = None) -> np.ndarray:
    """Integer ecoregion raster (``0`` = none) of a polygon layer's ``field`` on ``grid``."""
    return burn_ecoregions(read_ecoregion_polygons(vector_path, field, layer), grid)


def read_ecoregion_raster(raster_path: str | os.PathLike, grid: Grid) -> np.ndarray:
    """Integer codes (``0`` = none) of a one-band ecoregion raster that must lie on ``grid``."""
    path = os.fspath(raster_path)
    values, raster_grid = read_raster(path)
    if values.shape[0] != 1:
        raise InputError(f"ecoregion raster {path} has {values.shape[0]} bands; it needs one "
                         "band of integer codes")
    difference = raster_grid.same_as(grid)
    if difference:
        raise StackMismatchError(f"ecoregion raster {path} and the stack have {difference}")
    numbers = _integer_codes(values[0], "band 1", f"ecoregion raster {path}")
    numbers[~np.isfinite(numbers) | (numbers < 0)] = NO_ECOREGION
    return numbers.astype(code_dtype(numbers))


def is_vector(path: str | os.PathLike) -> bool:
    """Whether ``path`` (or a QGIS source ``file|layername=…``) opens as a vector layer."""
    import pyogrio

    file_part, layer = split_layer_uri(path)
    if layer is not None:
        return True
    try:
        return len(pyogrio.list_layers(file_part)) > 0
    except Exception:  # noqa: BLE001 - not readable as vector: try it as a raster
        return False


def load_ecoregions(path: str | os.PathLike, grid: Grid, field: str = "BIOME",
                    layer: str | None = None) -> np.ndarray:
    """Ecoregion codes on ``grid`` from a polygon layer (rasterized by ``field``) or a raster on
    it."""
    if is_vector(path):
        return rasterize_ecoregions(path, grid, field=field, layer=layer)
    return read_ecoregion_raster(path, grid)


def ecoregion_totals(data: np.ndarray,
                     codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ecoregion and time step: ``(ecoregions, sums (K, time), valid_cells (K, time))``.

    ``data`` ``(time, rows, cols)`` or ``(time, cells)``, ``codes`` ``(rows, cols)`` or
    ``(cells,)``; cells with code ≤ 0 belong to no ecoregion. Totals of several windows of a grid
    add up, so a large stack can be summed window by window.
    """
    data = np.asarray(data)
    n_time = data.shape[0]
    values = data.reshape(n_time, -1)
    flat_codes = np.asarray(codes).reshape(-1)
    if flat_codes.size != values.shape[1]:
        raise InputError(f"ecoregion raster of {np.shape(codes)} cells does not fit the stack's "
                         f"{data.shape[1:]} cells")
    inside = flat_codes > 0
    ecoregions, index = np.unique(flat_codes[inside], return_inverse=True)
    values = values[:, inside]
    n_regions = ecoregions.size
    sums = np.zeros((n_regions, n_time))
    counts = np.zeros((n_regions, n_time), dtype=np.int64)
    for t in range(n_time):  # one bincount per step keeps memory at one step's cells
        valid = np.isfinite(values[t])
        sums[:, t] = np.bincount(index[valid], weights=values[t][valid], minlength=n_regions)
        counts[:, t] = np.bincount(index[valid], minlength=n_regions)
    return ecoregions.astype(np.int64), sums, counts


def series_from_totals(ecoregions: np.ndarray, sums: np.ndarray, counts: np.ndarray,
                       dates) -> EcoregionSeries:
    """Rows (ecoregion, date, mean, valid_cells), ordered by ecoregion then date."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    n_regions, n_time = sums.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return EcoregionSeries(np.repeat(ecoregions, n_time), np.tile(dates, n_regions),
                           means.reshape(-1), counts.reshape(-1))


def ecoregion_mean_series(data: np.ndarray, codes: np.ndarray, dates) -> EcoregionSeries:
    """Mean of a stack ``(time, rows, cols)`` over each ecoregion of ``codes`` at each date."""
    if len(dates) != np.shape(data)[0]:
        raise InputError(f"stack has {np.shape(data)[0]} time steps but {len(dates)} dates")
    return series_from_totals(*ecoregion_totals(data, codes), dates)
