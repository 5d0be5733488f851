"""Raster time stacks: the engine's edge for reading and writing them.

A *time stack* is one multiband GeoTIFF: band i is time step i, its band description the ISO date
of the period's first day (``2000-01-01``), nodata set, the time scale (``daily``, ``monthly``,
``seasonal``, ``annual``) and the units in its metadata. A NetCDF variable with CF time is read as a
stack too. Whatever the source, a stack comes out north-up: row 0 is the northernmost row, the grid's
geotransform has a negative row step, and the data are ``float32`` ``(time, rows, cols)`` with NaN
where a value is missing.

Two stacks used together must share CRS, grid and time steps (:func:`check_stacks_match`); nothing
is silently resampled. Outputs are written atomically (a temporary file in the same folder, renamed
when complete) with a sidecar ``.qml`` style beside them.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from .errors import InputError, StackMismatchError
from .seasons import TIME_SCALES, period_start

#: Tile edge of the GeoTIFFs written here; blocks aligned to it decompress each tile once.
TILE_SIZE = 128
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5")

# ------------------------------------------------------------------------------------------------
# Grid
# ------------------------------------------------------------------------------------------------

def _as_crs(crs: Any) -> CRS | None:
    if crs is None or isinstance(crs, CRS):
        return crs
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # rasterio raises CRSError; anything unparsable is an input problem
        raise InputError(f"Unrecognised coordinate reference system {str(crs)[:80]!r}: {exc}") from exc


def _crs_label(crs: CRS | None) -> str:
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    try:
        import pyproj

        return pyproj.CRS.from_wkt(crs.to_wkt()).name
    except Exception:
        return crs.to_wkt()[:80]


def _same_crs(a: CRS | None, b: CRS | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    epsg_a, epsg_b = a.to_epsg(), b.to_epsg()
    return epsg_a is not None and epsg_a == epsg_b


def _clean(value: float) -> float:
    """Round away float noise (float32 coordinates, summed steps): 12 significant digits."""
    return float(f"{value:.12g}")


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, geotransform (cell edges) and size in cells."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "crs", _as_crs(self.crs))
        object.__setattr__(self, "transform", Affine(*tuple(self.transform)[:6]))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def regular(cls, west: float, north: float, cell_size: float, width: int, height: int,
                crs: Any = "EPSG:4326", cell_height: float | None = None) -> "Grid":
        """A north-up grid from its north-west corner and cell size (degrees for EPSG:4326)."""
        dy = cell_size if cell_height is None else cell_height
        return cls(crs, Affine(cell_size, 0.0, west, 0.0, -dy, north), width, height)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (self.height, self.width)

    @property
    def cell_size(self) -> tuple[float, float]:
        """``(x size, y size)``, both positive."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the outer cell edges."""
        t = self.transform
        west, north = t.c, t.f
        east, south = t.c + t.a * self.width, t.f + t.e * self.height
        return (min(west, east), min(south, north), max(west, east), max(south, north))

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column's centre and y of each row's centre (north to south)."""
        t = self.transform
        x = t.c + t.a * (np.arange(self.width) + 0.5)
        y = t.f + t.e * (np.arange(self.height) + 0.5)
        return x, y

    def window_grid(self, window: Window) -> "Grid":
        """The sub-grid covered by ``window``."""
        window = _check_window(window, self)
        return Grid(self.crs, rasterio.windows.transform(window, self.transform),
                    int(window.width), int(window.height))

    def _unit(self) -> str:
        if self.crs is None:
            return ""
        if self.crs.is_geographic:
            return "°"
        try:
            unit = self.crs.linear_units
        except Exception:
            return ""
        return {"metre": " m", "meter": " m", "m": " m"}.get(unit, f" {unit}" if unit else "")

    def _size_text(self) -> str:
        dx, dy = self.cell_size
        unit = self._unit()
        if math.isclose(dx, dy, rel_tol=1e-9):
            return f"{dx:.10g}{unit}"
        return f"{dx:.10g}{unit} × {dy:.10g}{unit}"

    def same_as(self, other: "Grid") -> str | None:
        """None when the grids match; else the first difference in words, e.g.
        ``"different grids: cell size 0.25° vs 0.5°"`` or ``"different CRS: EPSG:4326 vs EPSG:3035"``."""
        if not _same_crs(self.crs, other.crs):
            return f"different CRS: {_crs_label(self.crs)} vs {_crs_label(other.crs)}"
        (dx1, dy1), (dx2, dy2) = self.cell_size, other.cell_size
        if not (math.isclose(dx1, dx2, rel_tol=1e-6) and math.isclose(dy1, dy2, rel_tol=1e-6)):
            return f"different grids: cell size {self._size_text()} vs {other._size_text()}"
        if (self.width, self.height) != (other.width, other.height):
            return (f"different grids: size {self.width}×{self.height} vs "
                    f"{other.width}×{other.height} cells (columns × rows)")
        w1, s1, e1, n1 = self.bounds
        w2, s2, e2, n2 = other.bounds
        if abs(w1 - w2) > 1e-3 * dx1 or abs(n1 - n2) > 1e-3 * dy1:
            unit = self._unit().strip()
            return (f"different grids: origin (west, north) ({w1:.10g}, {n1:.10g}) vs "
                    f"({w2:.10g}, {n2:.10g}){' ' + unit if unit else ''}")
        return None


# ------------------------------------------------------------------------------------------------
# StackInfo
# ------------------------------------------------------------------------------------------------

@dataclass
class StackInfo:
    """What a time stack is, without its values: where, which grid, which dates, what units."""

    path: str
    variable: str | None
    grid: Grid
    dates: np.ndarray  # datetime64[D], the first day of each period
    time_scale: str
    units: str
    nodata: float | None
    name: str
    # How to read the source (format, band numbers / NetCDF dimensions, flips); internal.
    layout: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def count(self) -> int:
        """Number of time steps."""
        return int(len(self.dates))

    @property
    def block_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the storage tiles/chunks: reading whole ones is fastest."""
        return tuple(self.layout.get("block_shape") or (1, self.grid.width))

    def date_labels(self) -> list[str]:
        """The dates as text at the stack's time scale (``2001-01`` for monthly)."""
        return [format_date(d, self.time_scale) for d in self.dates]


def format_date(date: np.datetime64, time_scale: str = "daily") -> str:
    """A period's date in words fit for its scale: ``2019-12-01`` daily, ``2019-12`` monthly or
    seasonal, ``2019`` annual."""
    text = str(np.datetime64(date, "D"))
    if time_scale in ("monthly", "seasonal"):
        return text[:7]
    if time_scale == "annual":
        return text[:4]
    return text


# ------------------------------------------------------------------------------------------------
# Dates and time scales
# ------------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ][0-9:.]*Z?)?\s*$")


def parse_date(text: str) -> np.datetime64 | None:
    """``2000-01-01`` / ``2000-01`` / ``2000`` (optionally with a time of day) → datetime64[D];
    None when the text is not such a date."""
    match = _DATE_RE.match(str(text))
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "1", match.group(3) or "1"
    try:
        return np.datetime64(f"{int(year):04d}-{int(month):02d}-{int(day):02d}", "D")
    except ValueError:
        return None


def infer_time_scale(dates: np.ndarray, what: str = "the stack") -> str:
    """The time scale implied by the spacing of ``dates`` (median step in days)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    if len(dates) < 2:
        raise InputError(f"{what}: cannot tell the time scale from a single time step; "
                         "set the metadata item time_scale (daily, monthly, seasonal or annual)")
    step = float(np.median(np.diff(dates).astype(np.int64)))
    for scale, low, high in (("daily", 0.5, 1.5), ("monthly", 27, 32), ("seasonal", 85, 95),
                             ("annual", 360, 370)):
        if low <= step <= high:
            return scale
    raise InputError(f"{what}: cannot tell the time scale from dates {step:g} days apart; "
                     "expected daily, monthly, seasonal or annual steps")


def _normalise_dates(raw: np.ndarray, time_scale: str | None, what: str) -> tuple[np.ndarray, str]:
    raw = np.asarray(raw, dtype="datetime64[D]")
    if time_scale is None:
        time_scale = infer_time_scale(raw, what)
    elif time_scale not in TIME_SCALES:
        raise InputError(f"{what}: time_scale {time_scale!r} is not one of {', '.join(TIME_SCALES)}")
    dates = period_start(raw, time_scale)
    steps = np.diff(dates).astype(np.int64)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        if steps[i] == 0:
            raise InputError(f"{what}: time steps {i + 1} and {i + 2} fall in the same "
                             f"{time_scale} period ({format_date(dates[i], time_scale)})")
        raise InputError(f"{what}: dates are not in increasing order at time step {i + 2} "
                         f"({format_date(dates[i], time_scale)} then "
                         f"{format_date(dates[i + 1], time_scale)})")
    return dates, time_scale


def _scale_from_metadata(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    mapping = {"daily": "daily", "day": "daily", "1d": "daily", "monthly": "monthly", "mon": "monthly",
               "month": "monthly", "1m": "monthly", "seasonal": "seasonal", "season": "seasonal",
               "seas": "seasonal", "sem": "seasonal", "annual": "annual", "yearly": "annual",
               "year": "annual", "yr": "annual", "1y": "annual"}
    return mapping.get(text)


def _cf_to_dates(values: np.ndarray, units: str, calendar: str, what: str) -> np.ndarray:
    """CF numeric times → datetime64[D] (day of the stamp; any calendar via cftime)."""
    import cftime

    try:
        stamps = cftime.num2date(np.asarray(values, dtype=np.float64), units, calendar,
                                 only_use_cftime_datetimes=True)
    except Exception as exc:
        raise InputError(f"{what}: cannot decode the time axis (units {units!r}, "
                         f"calendar {calendar!r}): {_short(exc)}") from exc
    out = np.empty(len(stamps), dtype="datetime64[D]")
    for i, stamp in enumerate(np.ravel(stamps)):
        try:
            out[i] = np.datetime64(f"{stamp.year:04d}-{stamp.month:02d}-01", "D") + (stamp.day - 1)
        except ValueError as exc:
            raise InputError(f"{what}: time step {i + 1} ({stamp}) is not a calendar date") from exc
    # A day that the real calendar lacks (30 February in a 360_day calendar) rolls into the next
    # month; for daily data that gives two steps on one day, which _normalise_dates reports.
    return out


# ------------------------------------------------------------------------------------------------
# Opening sources
# ------------------------------------------------------------------------------------------------

def _split_source(path: str | os.PathLike, variable: str | None) -> tuple[str, str | None]:
    """Accepts ``file.nc`` + variable, ``file.nc:variable`` and GDAL's ``NETCDF:"file.nc":variable``."""
    text = os.fspath(path)
    gdal = re.match(r'^NETCDF:"?(.*?)"?:([^:"]+)$', text, flags=re.IGNORECASE)
    if gdal:
        return gdal.group(1), variable or gdal.group(2)
    if not os.path.exists(text) and ":" in text:
        head, _, tail = text.rpartition(":")
        if head.lower().endswith(NETCDF_SUFFIXES) and tail and "/" not in tail and "\\" not in tail:
            return head, variable or tail
    return text, variable


def _is_netcdf(path: str) -> bool:
    if path.lower().endswith(NETCDF_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError:
        return False
    return magic[:3] == b"CDF" or magic == b"\x89HDF\r\n\x1a\n"


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"{path}: file not found")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a raster file")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_stack_info(path: str | os.PathLike, variable: str | None = None,
                    name: str | None = None) -> StackInfo:
    """Describe a time stack: a multiband GeoTIFF (band dates from band descriptions or tags) or a
    NetCDF variable with CF time (``path`` + ``variable``, ``path.nc:variable``, or the file's only
    data variable). Raises :class:`InputError` naming the file for anything unusable."""
    path, variable = _split_source(path, variable)
    _check_exists(path)
    if _is_netcdf(path):
        info = _netcdf_info(path, variable)
    else:
        info = _gtiff_info(path)
    if name:
        info.name = name
    return info


# ---- GeoTIFF (or any GDAL raster) --------------------------------------------------------------

def _open_raster(path: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise InputError(f"{path}: not a readable raster ({_short(exc)})") from exc


def _north_up(transform: Affine, width: int, height: int, what: str) -> tuple[Affine, bool, bool]:
    """A north-up version of ``transform`` and whether rows / columns must be flipped to get it."""
    a, b, c, d, e, f = tuple(transform)[:6]
    if b != 0 or d != 0:
        raise InputError(f"{what}: rotated or sheared grids are not supported; warp it to a "
                         "north-up grid first")
    if transform == Affine.identity():  # not georeferenced: keep the file's own row order
        return transform, False, False
    flip_rows, flip_cols = e > 0, a < 0
    if flip_rows:
        f, e = f + e * height, -e
    if flip_cols:
        c, a = c + a * width, -a
    return Affine(a, 0.0, c, 0.0, e, f), flip_rows, flip_cols


def _band_date(src, band: int, description: str | None, time_dim: str | None) -> np.datetime64 | None:
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
    if time_dim and f"NETCDF_DIM_{time_dim}" in tags:  # a GDAL translation of a NetCDF file
        ds_tags = src.tags()
        units = ds_tags.get(f"{time_dim}#units")
        if units:
            calendar = ds_tags.get(f"{time_dim}#calendar", "standard")
            return _cf_to_dates(np.array([float(tags[f"NETCDF_DIM_{time_dim}"])]), units, calendar,
                                src.name)[0]
    return None


def _gtiff_info(path: str) -> StackInfo:
    with _open_raster(path) as src:
        what = path
        tags = src.tags()
        time_dim = None
        extra = tags.get("NETCDF_DIM_EXTRA", "")
        if extra:
            time_dim = extra.strip("{}").split(",")[0] or None
        raw = []
        for band, description in zip(range(1, src.count + 1), src.descriptions):
            date = _band_date(src, band, description, time_dim)
            if date is None:
                shown = f" (description {description!r})" if description else " (no description)"
                raise InputError(f"{path}: band {band} has no date{shown}; a time stack needs each "
                                 "band's description to be the ISO date of its period, e.g. 2000-01-01")
            raw.append(date)
        scale = tags.get("time_scale") or tags.get("TIME_SCALE")
        if scale is not None and _scale_from_metadata(scale) is None:
            raise InputError(f"{path}: metadata time_scale {scale!r} is not one of "
                             f"{', '.join(TIME_SCALES)}")
        dates, time_scale = _normalise_dates(np.array(raw, dtype="datetime64[D]"),
                                             _scale_from_metadata(scale), what)
        transform, flip_rows, flip_cols = _north_up(src.transform, src.width, src.height, what)
        grid = Grid(src.crs if src.crs else None, transform, src.width, src.height)
        units = tags.get("units") or tags.get("UNITS") or (src.units[0] if src.units else "") or ""
        layout = {"format": "gtiff", "bands": list(range(1, src.count + 1)),
                  "flip_rows": flip_rows, "flip_cols": flip_cols,
                  "block_shape": tuple(int(n) for n in src.block_shapes[0]),
                  "scales": list(src.scales), "offsets": list(src.offsets)}
        return StackInfo(path=path, variable=None, grid=grid, dates=dates, time_scale=time_scale,
                         units=units, nodata=src.nodata, name=Path(path).stem, layout=layout)


# ---- NetCDF -------------------------------------------------------------------------------------

def _open_netcdf(path: str):
    import xarray as xr

    try:
        with warnings.catch_warnings():
            # Several fill values (_FillValue and missing_value) all become NaN, as intended.
            warnings.filterwarnings("ignore", message=".*multiple fill values.*")
            return xr.open_dataset(path, decode_times=False, decode_timedelta=False,
                                   mask_and_scale=True, cache=False)
    except Exception as exc:
        raise InputError(f"{path}: not a readable NetCDF file ({_short(exc)})") from exc


def _axis_kind(ds, dim: str) -> str | None:
    """'T', 'Y', 'X' for a dimension that is time / latitude-like / longitude-like."""
    attrs = ds[dim].attrs if dim in ds.variables else {}
    axis = str(attrs.get("axis", "")).upper()
    standard = str(attrs.get("standard_name", "")).lower()
    units = str(attrs.get("units", "")).lower()
    lname = dim.lower()
    if axis == "T" or standard == "time" or " since " in units or lname in ("time", "valid_time", "t"):
        return "T"
    if axis == "Y" or standard in ("latitude", "projection_y_coordinate", "grid_latitude") \
            or units in ("degrees_north", "degree_north", "degrees_n", "degree_n") \
            or lname in ("lat", "latitude", "y", "rlat"):
        return "Y"
    if axis == "X" or standard in ("longitude", "projection_x_coordinate", "grid_longitude") \
            or units in ("degrees_east", "degree_east", "degrees_e", "degree_e") \
            or lname in ("lon", "longitude", "x", "rlon"):
        return "X"
    return None


def _pick_variable(ds, path: str, variable: str | None) -> str:
    if variable is not None:
        if variable not in ds.data_vars:
            names = ", ".join(sorted(map(str, ds.data_vars))) or "none"
            raise InputError(f"{path}: has no variable {variable!r} (variables: {names})")
        return variable
    candidates = [str(v) for v, da in ds.data_vars.items()
                  if {_axis_kind(ds, d) for d in da.dims} >= {"T", "Y", "X"}]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{path}: has no variable with time, latitude and longitude dimensions")
    raise InputError(f"{path}: holds several variables ({', '.join(candidates)}); name one, "
                     f"e.g. {path}:{candidates[0]}")


def _regular_axis(values: np.ndarray, what: str, axis_name: str) -> tuple[float, float, bool]:
    """(first edge, positive cell size, descending?) of a regular 1-D coordinate of cell centres."""
    values = np.asarray(values)
    if values.ndim != 1 or len(values) < 2:
        raise InputError(f"{what}: needs at least 2 cells along {axis_name}")
    # float32 coordinates (0.1° grids) are read via their shortest decimal form: 53.1, not 53.0999…
    as_float = np.array([float(str(v)) for v in values]) if values.dtype == np.float32 \
        else values.astype(np.float64)
    if not np.all(np.isfinite(as_float)):
        raise InputError(f"{what}: the {axis_name} coordinate has missing values")
    step = (as_float[-1] - as_float[0]) / (len(as_float) - 1)
    if step == 0 or np.any(np.abs(np.diff(as_float) - step) > 1e-3 * abs(step)):
        raise InputError(f"{what}: the {axis_name} coordinate is not evenly spaced; only regular "
                         "grids are read")
    size = _clean(abs(step))
    lowest = min(as_float[0], as_float[-1])
    return _clean(lowest - size / 2), size, bool(step < 0)


def _netcdf_crs(ds, da, what: str) -> CRS:
    name = da.attrs.get("grid_mapping")
    gm = ds[name].attrs if name and name in ds.variables else {}
    for key in ("crs_wkt", "spatial_ref"):
        if gm.get(key):
            return _as_crs(gm[key])
    mapping = str(gm.get("grid_mapping_name", "latitude_longitude"))
    if mapping != "latitude_longitude":
        try:
            import pyproj

            return CRS.from_wkt(pyproj.CRS.from_cf(dict(gm)).to_wkt())
        except Exception as exc:
            raise InputError(f"{what}: cannot read the grid mapping {mapping!r} "
                             f"({_short(exc)})") from exc
    # Plain latitude/longitude (ERA5's sphere included) is taken as WGS 84 longitude/latitude.
    return CRS.from_epsg(4326)


def _netcdf_info(path: str, variable: str | None) -> StackInfo:
    with _open_netcdf(path) as ds:
        variable = _pick_variable(ds, path, variable)
        what = f"{path}:{variable}"
        da = ds[variable]
        kinds = {dim: _axis_kind(ds, str(dim)) for dim in da.dims}
        dims = {}
        for kind in ("T", "Y", "X"):
            found = [str(d) for d, k in kinds.items() if k == kind]
            if len(found) != 1:
                label = {"T": "time", "Y": "latitude (y)", "X": "longitude (x)"}[kind]
                raise InputError(f"{what}: needs exactly one {label} dimension, found "
                                 f"{', '.join(found) if found else 'none'} (dimensions: "
                                 f"{', '.join(map(str, da.dims))})")
            dims[kind] = found[0]
        squeeze, combine = {}, None
        for dim in da.dims:
            if dim in dims.values():
                continue
            size = int(da.sizes[dim])
            if size == 1:
                squeeze[str(dim)] = 0
            elif str(dim) == "expver":  # ERA5 + ERA5T: one of the versions holds each value
                combine = str(dim)
            else:
                raise InputError(f"{what}: has an extra dimension {dim!r} with {size} values; "
                                 "extract one level into its own file first")
        for kind, label in (("Y", "latitude"), ("X", "longitude")):
            if dims[kind] not in ds.variables:
                raise InputError(f"{what}: the {label} dimension {dims[kind]!r} has no coordinate values")
        west, dx, flip_cols = _regular_axis(ds[dims["X"]].values, what, "longitude (x)")
        south, dy, flip_rows_south_first = _regular_axis(ds[dims["Y"]].values, what, "latitude (y)")
        height, width = int(da.sizes[dims["Y"]]), int(da.sizes[dims["X"]])
        north = _clean(south + dy * height)
        # Ascending latitude (south first) must be flipped to come out north-up.
        flip_rows = not flip_rows_south_first
        grid = Grid(_netcdf_crs(ds, da, what), Affine(dx, 0.0, west, 0.0, -dy, north), width, height)

        time_name = dims["T"]
        if time_name not in ds.variables:
            raise InputError(f"{what}: the time dimension {time_name!r} has no coordinate values")
        tvar = ds[time_name]
        units = tvar.attrs.get("units")
        if not units or " since " not in str(units):
            raise InputError(f"{what}: the time coordinate has no CF units like "
                             "'days since 1900-01-01'")
        calendar = tvar.attrs.get("calendar", "standard")
        values = np.asarray(tvar.values, dtype=np.float64)
        bounds_name = tvar.attrs.get("bounds")
        if bounds_name and bounds_name in ds.variables:
            bounds = np.asarray(ds[bounds_name].values, dtype=np.float64)
            if bounds.shape == (len(values), 2) and np.all(np.isfinite(bounds)):
                values = bounds.mean(axis=1)  # the middle of each period
        if not np.all(np.isfinite(values)):
            raise InputError(f"{what}: the time coordinate has missing values")
        raw = _cf_to_dates(values, str(units), str(calendar), what)
        scale_attr = (da.attrs.get("time_scale") or ds.attrs.get("time_scale")
                      or ds.attrs.get("frequency") or da.attrs.get("frequency"))
        dates, time_scale = _normalise_dates(raw, _scale_from_metadata(scale_attr), what)

        encoding = da.encoding
        nodata = encoding.get("_FillValue", encoding.get("missing_value"))
        if nodata is not None:
            nodata = float(np.ravel(nodata)[0])
        chunks = dict(zip(da.dims, encoding.get("chunksizes") or da.shape))
        layout = {"format": "netcdf", "time_dim": time_name, "y_dim": dims["Y"],
                  "x_dim": dims["X"], "flip_rows": flip_rows, "flip_cols": flip_cols,
                  "squeeze": squeeze, "combine": combine,
                  "block_shape": (int(chunks[dims["Y"]]), int(chunks[dims["X"]]))}
        return StackInfo(path=path, variable=variable, grid=grid, dates=dates,
                         time_scale=time_scale, units=str(da.attrs.get("units", "")),
                         nodata=nodata, name=variable, layout=layout)


# ------------------------------------------------------------------------------------------------
# Reading values
# ------------------------------------------------------------------------------------------------

def _check_window(window: Window | None, grid: Grid) -> Window:
    if window is None:
        return Window(0, 0, grid.width, grid.height)
    if not isinstance(window, Window):
        window = Window(*window)
    col, row, width, height = (int(window.col_off), int(window.row_off), int(window.width),
                               int(window.height))
    if col < 0 or row < 0 or width < 0 or height < 0 or col + width > grid.width \
            or row + height > grid.height:
        raise ValueError(f"window {window} lies outside the {grid.width}×{grid.height} grid")
    return Window(col, row, width, height)


def _time_indices(time: slice | Sequence[int] | np.ndarray | None, count: int) -> np.ndarray:
    if time is None:
        return np.arange(count)
    if isinstance(time, slice):
        return np.arange(count)[time]
    indices = np.asarray(time, dtype=np.int64).ravel()
    if indices.size and (indices.min() < -count or indices.max() >= count):
        raise ValueError(f"time index out of range for a stack of {count} time steps")
    return indices % count if indices.size else indices


def read_stack(path_or_info: str | os.PathLike | StackInfo, window: Window | None = None,
               variable: str | None = None,
               time: slice | Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Values of a time stack as float32 ``(time, rows, cols)``, north-up, NaN where missing.

    ``window`` (a rasterio ``Window(col_off, row_off, width, height)`` in the north-up grid) reads
    one block; ``time`` (a slice or indices) reads some time steps only."""
    info = path_or_info if isinstance(path_or_info, StackInfo) \
        else read_stack_info(path_or_info, variable=variable)
    window = _check_window(window, info.grid)
    steps = _time_indices(time, info.count)
    layout = info.layout or {}
    if layout.get("format") == "netcdf":
        data = _read_netcdf(info, window, steps)
    else:
        data = _read_gtiff(info, window, steps)
    return data


def _source_slices(window: Window, grid: Grid, flip_rows: bool, flip_cols: bool
                   ) -> tuple[slice, slice]:
    row0, col0 = int(window.row_off), int(window.col_off)
    rows = slice(row0, row0 + int(window.height))
    cols = slice(col0, col0 + int(window.width))
    if flip_rows:
        rows = slice(grid.height - rows.stop, grid.height - rows.start)
    if flip_cols:
        cols = slice(grid.width - cols.stop, grid.width - cols.start)
    return rows, cols


def _read_gtiff(info: StackInfo, window: Window, steps: np.ndarray) -> np.ndarray:
    layout = info.layout
    flip_rows, flip_cols = layout.get("flip_rows", False), layout.get("flip_cols", False)
    rows, cols = _source_slices(window, info.grid, flip_rows, flip_cols)
    bands = [layout.get("bands", list(range(1, info.count + 1)))[i] for i in steps]
    out = np.empty((len(bands), rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
    if not bands or out.size == 0:
        return out
    try:
        with _open_raster(info.path) as src:
            masked = src.read(bands, window=Window.from_slices(rows, cols), masked=True)
    except RasterioError as exc:
        raise InputError(f"{info.path}: cannot read its values ({_short(exc)})") from exc
    out[...] = masked.filled(0).astype(np.float32, copy=False)
    out[np.ma.getmaskarray(masked)] = np.nan
    scales, offsets = layout.get("scales"), layout.get("offsets")
    if scales and offsets:
        for k, band in enumerate(bands):
            scale, offset = scales[band - 1], offsets[band - 1]
            if scale != 1.0 or offset != 0.0:
                out[k] = out[k] * np.float32(scale) + np.float32(offset)
    if flip_rows:
        out = out[:, ::-1, :]
    if flip_cols:
        out = out[:, :, ::-1]
    return np.ascontiguousarray(out)


def _read_netcdf(info: StackInfo, window: Window, steps: np.ndarray) -> np.ndarray:
    layout = info.layout
    flip_rows, flip_cols = layout["flip_rows"], layout["flip_cols"]
    rows, cols = _source_slices(window, info.grid, flip_rows, flip_cols)
    with _open_netcdf(info.path) as ds:
        if info.variable not in ds.data_vars:
            raise InputError(f"{info.path}: has no variable {info.variable!r}")
        da = ds[info.variable]
        if layout.get("squeeze"):
            da = da.isel(layout["squeeze"])
        selection = {layout["y_dim"]: rows, layout["x_dim"]: cols}
        contiguous = steps.size and np.array_equal(steps, np.arange(steps[0], steps[0] + steps.size))
        selection[layout["time_dim"]] = slice(int(steps[0]), int(steps[0]) + steps.size) \
            if contiguous else steps
        da = da.isel(selection)
        combine = layout.get("combine")
        try:
            if combine:
                values = np.asarray(da.transpose(combine, layout["time_dim"], layout["y_dim"],
                                                 layout["x_dim"]).values, dtype=np.float32)
                data = values[0].copy()
                for level in values[1:]:
                    data = np.where(np.isnan(data), level, data)
            else:
                data = np.asarray(da.transpose(layout["time_dim"], layout["y_dim"],
                                               layout["x_dim"]).values, dtype=np.float32)
        except Exception as exc:
            raise InputError(f"{info.path}: cannot read {info.variable!r} ({_short(exc)})") from exc
    if flip_rows:
        data = data[:, ::-1, :]
    if flip_cols:
        data = data[:, :, ::-1]
    return np.ascontiguousarray(data, dtype=np.float32)


# ------------------------------------------------------------------------------------------------
# Checking stacks against each other
# ------------------------------------------------------------------------------------------------

def check_stacks_match(*infos: StackInfo, check_time: bool = True) -> None:
    """Raise :class:`StackMismatchError` naming the first difference (CRS, grid, time scale, time
    steps) between the first stack and any other, using each stack's ``name``."""
    if len(infos) < 2:
        return
    first = infos[0]
    for other in infos[1:]:
        difference = first.grid.same_as(other.grid)
        if difference:
            raise StackMismatchError(f"{first.name} and {other.name} have {difference}")
        if not check_time:
            continue
        if first.time_scale != other.time_scale:
            raise StackMismatchError(f"{first.name} is {first.time_scale}, {other.name} "
                                     f"{other.time_scale}; aggregate one to the other's time scale")
        a = np.asarray(first.dates, dtype="datetime64[D]")
        b = np.asarray(other.dates, dtype="datetime64[D]")
        if len(a) == len(b) and np.array_equal(a, b):
            continue
        n = min(len(a), len(b))
        differs = np.nonzero(a[:n] != b[:n])[0]
        if differs.size:
            i = int(differs[0])
            at = min(a[i], b[i])
        else:
            i = n
            at = a[n] if len(a) > n else b[n]
        scale = first.time_scale
        where = format_date(at, scale)
        if len(a) != len(b):
            raise StackMismatchError(f"{first.name} has {len(a)} time steps, {other.name} "
                                     f"{len(b)}; first difference at {where}")
        raise StackMismatchError(
            f"{first.name} and {other.name} have different time steps: first difference at "
            f"{where} ({first.name} {format_date(a[i], scale)}, "
            f"{other.name} {format_date(b[i], scale)})")


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------

def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _block_size(n: int) -> int:
    return TILE_SIZE if n >= TILE_SIZE else max(16, int(math.ceil(n / 16.0)) * 16)


def _is_integer(dtype: np.dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


class RasterWriter:
    """An output GeoTIFF written block by block into a temporary file beside ``path`` and renamed
    to ``path`` on :meth:`commit` (with its sidecar ``.qml``); :meth:`abort` (or an exception inside
    ``with``) removes it, so a failed run leaves no file that looks complete.

    ``style_qml``: the sidecar style; None picks a continuous style over the values written
    (2nd–98th percentile), False writes no sidecar."""

    def __init__(self, path: str | os.PathLike, grid: Grid, count: int, dtype: Any,
                 nodata: float | int | None, band_names: Sequence[str] | None = None,
                 style_qml: str | None | Literal[False] = None,
                 tags: dict[str, Any] | None = None,
                 band_tags: Sequence[dict[str, Any]] | None = None,
                 band_units: str | None = None, color_interp: Sequence[Any] | None = None,
                 style_label: str = "") -> None:
        self.path = Path(path)
        self.grid = grid
        self.count = int(count)
        self.dtype = np.dtype(dtype)
        self.nodata = nodata
        self.style_qml = style_qml
        self.style_label = style_label
        self._samples: list[np.ndarray] = []
        self._done = False
        folder = self.path.parent if str(self.path.parent) else Path(".")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot create the output folder {folder} "
                             f"({exc.strerror})") from None
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".partial.tif", dir=folder)
        os.close(fd)
        self._tmp = Path(tmp)
        profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=self.count,
                       dtype=self.dtype.name, crs=grid.crs, transform=grid.transform,
                       nodata=nodata, compress="deflate", zlevel=3,
                       predictor=2 if _is_integer(self.dtype) else 3, tiled=True,
                       blockxsize=_block_size(grid.width), blockysize=_block_size(grid.height),
                       interleave="band", bigtiff="IF_SAFER")
        if self.dtype.itemsize == 1 and not _is_integer(self.dtype):
            profile.pop("predictor")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._dst = rasterio.open(self._tmp, "w", **profile)
            if tags:
                self._dst.update_tags(**{k: str(v) for k, v in tags.items()})
            for band in range(1, self.count + 1):
                if band_names is not None:
                    self._dst.set_band_description(band, str(band_names[band - 1]))
                if band_tags is not None and band_tags[band - 1]:
                    self._dst.update_tags(band, **{k: str(v) for k, v in band_tags[band - 1].items()})
                if band_units:
                    self._dst.set_band_unit(band, band_units)
            if color_interp is not None:
                from rasterio.enums import ColorInterp

                self._dst.colorinterp = [c if isinstance(c, ColorInterp) else ColorInterp[str(c)]
                                         for c in color_interp]
        except Exception:
            self.abort()
            raise

    def write(self, data: np.ndarray, window: Window | None = None) -> None:
        """Write ``(bands, rows, cols)`` (or ``(rows, cols)`` for one band) at ``window`` of the
        north-up grid; NaN becomes nodata."""
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[np.newaxis]
        window = _check_window(window, self.grid)
        expected = (self.count, int(window.height), int(window.width))
        if data.shape != expected:
            raise ValueError(f"{self.path.name}: data of shape {data.shape}, expected {expected}")
        if np.issubdtype(data.dtype, np.floating):
            missing = np.isnan(data)
            if missing.any():
                if self.nodata is None:
                    raise ValueError(f"{self.path.name}: NaN values but no nodata value")
                data = np.where(missing, self.nodata, data)
            finite = data[~missing] if missing.any() else data.ravel()
        else:
            finite = data.ravel()
        if self.nodata is not None and finite.size:
            finite = finite[finite != self.nodata]
        if self.style_qml is None and finite.size:
            stride = max(1, finite.size // 20000)
            self._samples.append(np.asarray(finite[::stride], dtype=np.float64))
        if _is_integer(self.dtype):
            data = np.rint(data) if np.issubdtype(data.dtype, np.floating) else data
        self._dst.write(data.astype(self.dtype, copy=False), window=window)

    def commit(self) -> Path:
        """Close, write the sidecar style and move the file into place; returns the path."""
        if self._done:
            return self.path
        try:
            self._dst.close()
            style = self.style_qml
            if style is None:
                from .styles import continuous_style

                values = np.concatenate(self._samples) if self._samples else np.zeros(0)
                if values.size:
                    vmin, vmax = (float(v) for v in np.percentile(values, [2.0, 98.0]))
                else:
                    vmin, vmax = float("nan"), float("nan")
                style = continuous_style(vmin, vmax, label=self.style_label)
            aux = self.path.with_name(self.path.name + ".aux.xml")
            if aux.exists():  # a stale PAM file would override the new metadata
                aux.unlink()
            if style:
                from .styles import write_sidecar_style

                write_sidecar_style(self.path, style)
            os.chmod(self._tmp, 0o666 & ~_umask())  # mkstemp made it private (0600)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; nothing is left at ``path``."""
        self._done = True
        dst = getattr(self, "_dst", None)
        if dst is not None and not dst.closed:
            try:
                dst.close()
            except Exception:
                pass
        for leftover in (self._tmp, self._tmp.with_name(self._tmp.name + ".aux.xml")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> "RasterWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def open_stack_writer(path: str | os.PathLike, grid: Grid, dates: Sequence[Any] | np.ndarray,
                      time_scale: str, units: str, nodata: float = -9999.0,
                      style_qml: str | None | Literal[False] = None,
                      description: str | None = None) -> RasterWriter:
    """A :class:`RasterWriter` for a float32 time stack written block by block (``write(data,
    window)`` with ``data`` ``(time, rows, cols)``); commit it (or leave its ``with`` block)."""
    if time_scale not in TIME_SCALES:
        raise ValueError(f"time_scale {time_scale!r} is not one of {', '.join(TIME_SCALES)}")
    dates = np.asarray(dates, dtype="datetime64[D]")
    labels = [str(d) for d in dates]
    tags: dict[str, Any] = {"time_scale": time_scale, "units": units or ""}
    if description:
        tags["description"] = description
    band_tags = [{"date": label} for label in labels]
    return RasterWriter(path, grid, len(labels), np.float32, nodata, band_names=labels,
                        style_qml=style_qml, tags=tags, band_tags=band_tags,
                        band_units=units or None, style_label=units or "")


def write_stack(path: str | os.PathLike, data: np.ndarray, grid: Grid,
                dates: Sequence[Any] | np.ndarray, time_scale: str, units: str,
                nodata: float = -9999.0, style_qml: str | None | Literal[False] = None,
                description: str | None = None) -> Path:
    """Write a time stack: float32 GeoTIFF, DEFLATE, tiled, band descriptions = ISO dates, nodata,
    metadata ``time_scale`` and ``units``, atomically, with a sidecar ``.qml`` (a continuous style
    over the values when ``style_qml`` is None). ``data`` is ``(time, rows, cols)``, NaN = missing."""
    data = np.asarray(data)
    if data.ndim != 3 or data.shape[1:] != grid.shape:
        raise ValueError(f"{Path(path).name}: data of shape {data.shape}, expected "
                         f"(time, {grid.height}, {grid.width})")
    if data.shape[0] != len(dates):
        raise ValueError(f"{Path(path).name}: {data.shape[0]} time steps but {len(dates)} dates")
    with open_stack_writer(path, grid, dates, time_scale, units, nodata, style_qml,
                           description) as writer:
        writer.write(data.astype(np.float32, copy=False))
    return Path(path)


def write_raster(path: str | os.PathLike, data: np.ndarray, grid: Grid, dtype: Any,
                 nodata: float | int | None, band_names: Sequence[str] | None = None,
                 style_qml: str | None | Literal[False] = None,
                 tags: dict[str, Any] | None = None,
                 color_interp: Sequence[Any] | None = None) -> Path:
    """Write a per-cell output raster, ``(rows, cols)`` or ``(bands, rows, cols)``, atomically,
    DEFLATE-compressed and tiled, NaN → ``nodata``, with a sidecar ``.qml`` (continuous over the
    values when ``style_qml`` is None; False for none). ``color_interp``: e.g. ``["red", "green",
    "blue"]``."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3 or data.shape[1:] != grid.shape:
        raise ValueError(f"{Path(path).name}: data of shape {data.shape}, expected "
                         f"([bands,] {grid.height}, {grid.width})")
    with RasterWriter(path, grid, data.shape[0], dtype, nodata, band_names=band_names,
                      style_qml=style_qml, tags=tags, color_interp=color_interp) as writer:
        writer.write(data)
    return Path(path)


def read_raster(path: str | os.PathLike, window: Window | None = None) -> tuple[np.ndarray, Grid]:
    """A single- or multi-band raster (a per-cell output, an ecoregion grid) as float64
    ``(bands, rows, cols)`` with NaN for nodata, and its north-up grid."""
    path = os.fspath(path)
    _check_exists(path)
    with _open_raster(path) as src:
        transform, flip_rows, flip_cols = _north_up(src.transform, src.width, src.height, path)
        grid = Grid(src.crs if src.crs else None, transform, src.width, src.height)
        window = _check_window(window, grid)
        rows, cols = _source_slices(window, grid, flip_rows, flip_cols)
        try:
            masked = src.read(window=Window.from_slices(rows, cols), masked=True)
        except RasterioError as exc:
            raise InputError(f"{path}: cannot read its values ({_short(exc)})") from exc
    data = masked.astype(np.float64).filled(np.nan)
    if flip_rows:
        data = data[:, ::-1, :]
    if flip_cols:
        data = data[:, :, ::-1]
    return np.ascontiguousarray(data), grid


__all__ = [
    "TILE_SIZE", "Grid", "StackInfo", "RasterWriter", "Window", "check_stacks_match", "format_date",
    "infer_time_scale", "open_stack_writer", "parse_date", "read_raster", "read_stack",
    "read_stack_info", "write_raster", "write_stack",
]
