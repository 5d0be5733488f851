"""GeoTIFF (or any raster GDAL reads) time stacks: band i is time step i, dated by its
description, its tags, or the NetCDF time GDAL kept when it translated a NetCDF file."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from affine import Affine
from rasterio.dtypes import dtype_rev, typename_fwd
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.io import MemoryFile
from rasterio.windows import Window

from ..errors import InputError
from .dates import TIME_SCALES, cf_to_dates, normalise_dates, parse_date, scale_from_metadata
from .files import check_exists, short_error
from .grid import Grid, as_crs, check_window
from .info import StackInfo
from .orient import AxisOrder, longitude_axis, read_oriented


def open_raster(path: str):
    """``rasterio.open(path)`` with an InputError naming the file when GDAL cannot read it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise InputError(f"{path}: not a readable raster ({short_error(exc)})") from exc


def north_up(transform: Affine, width: int, height: int, what: str
             ) -> tuple[Affine, AxisOrder, AxisOrder]:
    """A north-up version of ``transform`` and the row and column order that gives it."""
    a, b, c, d, e, f = tuple(transform)[:6]
    if b != 0 or d != 0:
        raise InputError(f"{what}: rotated or sheared grids are not supported; warp it to a "
                         "north-up grid first")
    if transform == Affine.identity():  # not georeferenced: keep the file's own row order
        return transform, AxisOrder(height), AxisOrder(width)
    flip_rows, flip_cols = e > 0, a < 0
    if flip_rows:
        f, e = f + e * height, -e
    if flip_cols:
        c, a = c + a * width, -a
    return (Affine(a, 0.0, c, 0.0, e, f), AxisOrder(height, flip=bool(flip_rows)),
            AxisOrder(width, flip=bool(flip_cols)))


def roll_longitudes(transform: Affine, cols: AxisOrder, crs, what: str
                    ) -> tuple[Affine, AxisOrder]:
    """A north-up geographic grid that reaches east of 180° (0–360° longitudes) rolled to
    −180…180° with the column order that gives it; any other grid unchanged."""
    east = transform.c + transform.a * cols.size
    if crs is None or not crs.is_geographic or east <= 180.0 + 1e-6 * transform.a:
        return transform, cols
    centres = transform.c + transform.a * (np.arange(cols.size) + 0.5)
    if cols.flip:  # file order, as longitude_axis expects it
        centres = centres[::-1]
    west, size, order = longitude_axis(centres, what)
    return Affine(size, 0.0, west, 0.0, transform.e, transform.f), order


def _band_date(src, band: int, description: str | None, time_dim: str | None
               ) -> np.datetime64 | None:
    if description:
        parsed = parse_date(description)
        if parsed is not None:
            return parsed
    tags = src.tags(band)
    for key in ("date", "DATE", "time", "TIME", "start_date", "DATE_TIME"):
        if key in tags:
            parsed = parse_date(tags[key])
            if parsed is not None:
                return parsed
    valid = tags.get("GRIB_VALID_TIME", "").split()
    if valid and valid[0].lstrip("-").isdigit():  # GRIB through GDAL: seconds since 1970
        return np.datetime64(int(valid[0]), "s").astype("datetime64[D]")
    if time_dim and f"NETCDF_DIM_{time_dim}" in tags:  # a GDAL translation of a NetCDF file
        ds_tags = src.tags()
        units = ds_tags.get(f"{time_dim}#units")
        if units:
            calendar = ds_tags.get(f"{time_dim}#calendar", "standard")
            return cf_to_dates(np.array([float(tags[f"NETCDF_DIM_{time_dim}"])]), units, calendar,
                               src.name)[0]
    return None


def _read_masked(src, bands: list[int], rows: slice, cols: slice, path: str,
                 dtype=np.float32) -> np.ndarray:
    """Bands of a file block as floats of ``dtype`` with NaN where masked (nodata)."""
    try:
        masked = src.read(bands, window=Window.from_slices(rows, cols), masked=True)
    except RasterioError as exc:
        raise InputError(f"{path}: cannot read its values ({short_error(exc)})") from exc
    out = masked.filled(0).astype(dtype, copy=False)
    out[np.ma.getmaskarray(masked)] = np.nan
    return out


def band_dtype(dtypes: Sequence[str]) -> str:
    """The one data type of a raster's bands, ``float64`` (exact for all up to 32-bit integers)
    when they differ."""
    return dtypes[0] if len(set(dtypes)) == 1 else "float64"


#: bands read per ``read`` call of a stacked VRT (values, then masks), so that the values and
#: masks held besides the float32 result are a few MB, not a second copy of the block
BANDS_PER_READ = 256


def stacked_vrt(path: str, bands: Sequence[int], rows: slice, cols: slice, dtype: str) -> str:
    """VRT XML of a two-band raster holding the ``rows`` × ``cols`` block of each of the file's
    ``bands`` one under the other (block k in rows ``k·height`` to ``(k+1)·height``): band 1 their
    values as ``dtype`` (a numpy name), band 2 their GDAL masks (0 where missing)."""
    height, width = rows.stop - rows.start, cols.stop - cols.start
    source = escape(path)

    def stacked(prefix: str) -> str:
        return "".join(
            f'<SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename>'
            f"<SourceBand>{prefix}{band}</SourceBand>"
            f'<SrcRect xOff="{cols.start}" yOff="{rows.start}" xSize="{width}" '
            f'ySize="{height}"/>'
            f'<DstRect xOff="0" yOff="{k * height}" xSize="{width}" ySize="{height}"/>'
            "</SimpleSource>" for k, band in enumerate(bands))

    return (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height * len(bands)}">'
            f'<VRTRasterBand dataType="{typename_fwd[dtype_rev[dtype]]}" band="1">'
            f'{stacked("")}</VRTRasterBand>'
            f'<VRTRasterBand dataType="Byte" band="2">{stacked("mask,")}</VRTRasterBand>'
            "</VRTDataset>")


def read_bands(path: str, bands: Sequence[int], rows: slice, cols: slice, dtype: str
               ) -> np.ndarray:
    """Many bands of a file block as float32 ``(bands, rows, cols)`` with NaN where masked, the
    same values as :func:`_read_masked`. They are read as one band of a :func:`stacked_vrt`:
    rasterio's ``read`` spends time proportional to the file's band count on each band index
    asked for (a daily stack's thousands of bands take seconds before GDAL decodes a tile)."""
    height, width = rows.stop - rows.start, cols.stop - cols.start
    out = np.empty((len(bands), height, width), dtype=np.float32)
    xml = stacked_vrt(path, bands, rows, cols, dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with MemoryFile(xml.encode(), ext=".vrt") as memory, memory.open() as vrt:
                for start in range(0, len(bands), BANDS_PER_READ):
                    stop = min(start + BANDS_PER_READ, len(bands))
                    window = Window(0, start * height, width, (stop - start) * height)
                    shape = (stop - start, height, width)
                    values = vrt.read(1, window=window).reshape(shape)
                    missing = vrt.read(2, window=window).reshape(shape) == 0
                    out[start:stop] = values
                    out[start:stop][missing] = np.nan
    except RasterioError as exc:
        raise InputError(f"{path}: cannot read its values ({short_error(exc)})") from exc
    return out


@dataclass(frozen=True)
class GeoTiffSource:
    """Reads a raster stack's bands through GDAL in north-up order, unpacking scale/offset."""

    path: str
    bands: tuple[int, ...]
    rows: AxisOrder
    cols: AxisOrder
    block_shape: tuple[int, int]
    scales: tuple[float, ...] = ()
    offsets: tuple[float, ...] = ()
    #: numpy name of the bands' data type (``float64`` when they differ)
    dtype: str = "float32"

    @classmethod
    def describe(cls, path: str, variable: str | None = None, crs: Any = None,
                 grid: Grid | None = None) -> StackInfo:
        """The stack of a raster file; ``crs`` replaces the file's CRS and ``grid`` its
        georeferencing (same rows and columns) when given."""
        with open_raster(path) as src:
            tags = src.tags()
            time_dim = None
            extra = tags.get("NETCDF_DIM_EXTRA", "")
            if extra:
                time_dim = extra.strip("{}").split(",")[0] or None
            raw = []
            for band, description in zip(range(1, src.count + 1), src.descriptions):
                date = _band_date(src, band, description, time_dim)
                if date is None:
                    shown = (f" (description {description!r})" if description
                             else " (no description)")
                    raise InputError(f"{path}: band {band} has no date{shown}; a time stack needs "
                                     "each band's description to be the ISO date of its period, "
                                     "e.g. 2000-01-01")
                raw.append(date)
            scale = tags.get("time_scale") or tags.get("TIME_SCALE")
            if scale is not None and scale_from_metadata(scale) is None:
                raise InputError(f"{path}: metadata time_scale {scale!r} is not one of "
                                 f"{', '.join(TIME_SCALES)}")
            dates, time_scale = normalise_dates(np.array(raw, dtype="datetime64[D]"),
                                                scale_from_metadata(scale), path)
            transform, rows, cols = north_up(src.transform, src.width, src.height, path)
            grid_crs = as_crs(crs) if crs else (grid.crs if grid else src.crs or None)
            if grid is not None:
                if grid.shape != (src.height, src.width):
                    raise InputError(f"{path}: has {src.width}×{src.height} cells (columns × "
                                     f"rows) but the grid given for it {grid.width}×{grid.height}")
                transform = grid.transform
            else:
                transform, cols = roll_longitudes(transform, cols, grid_crs, path)
            grid = Grid(grid_crs, transform, src.width, src.height)
            units = tags.get("units") or tags.get("UNITS") or (src.units[0] if src.units else "")
            source = cls(path=path, bands=tuple(range(1, src.count + 1)), rows=rows, cols=cols,
                         block_shape=tuple(int(n) for n in src.block_shapes[0]),
                         scales=tuple(src.scales), offsets=tuple(src.offsets),
                         dtype=band_dtype(src.dtypes))
            return StackInfo(path=path, variable=None, grid=grid, dates=dates,
                             time_scale=time_scale, units=units or "", nodata=src.nodata,
                             name=Path(path).stem, source=source)

    def read(self, window: Window, steps: np.ndarray) -> np.ndarray:
        """The north-up ``window`` of bands ``steps`` (0-based) as float32, NaN where missing."""
        bands = [self.bands[i] for i in steps]
        if not bands:
            return np.empty((0, int(window.height), int(window.width)), dtype=np.float32)
        out = read_oriented(lambda r, c: read_bands(self.path, bands, r, c, self.dtype),
                            self.rows, self.cols, window, len(bands))
        if self.scales and self.offsets:
            for k, band in enumerate(bands):
                scale, offset = self.scales[band - 1], self.offsets[band - 1]
                if scale != 1.0 or offset != 0.0:
                    out[k] = out[k] * np.float32(scale) + np.float32(offset)
        return out


def read_raster(path: str | os.PathLike, window: Window | None = None) -> tuple[np.ndarray, Grid]:
    """A single- or multi-band raster (a per-cell output, an ecoregion grid) as float64
    ``(bands, rows, cols)`` with NaN for nodata, and its north-up grid."""
    path = os.fspath(path)
    check_exists(path)
    with open_raster(path) as src:
        transform, rows, cols = north_up(src.transform, src.width, src.height, path)
        transform, cols = roll_longitudes(transform, cols, src.crs or None, path)
        grid = Grid(src.crs if src.crs else None, transform, src.width, src.height)
        window = check_window(window, grid)
        bands = list(range(1, src.count + 1))
        data = read_oriented(lambda r, c: _read_masked(src, bands, r, c, path, np.float64),
                             rows, cols, window, len(bands), dtype=np.float64)
    return np.ascontiguousarray(data, dtype=np.float64), grid
