"""NetCDF time stacks: a variable on CF time, y and x dimensions, read through xarray (packed
values unpacked, fill values NaN) in north-up order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from rasterio.windows import Window

from ..errors import InputError
from .cf import axis_kind, declared_crs, open_netcdf, pick_variable
from .dates import cf_to_dates, normalise_dates, scale_from_metadata
from .files import short_error
from .grid import Grid, as_crs, clean_number
from .info import StackInfo
from .orient import AxisOrder, longitude_axis, read_oriented, regular_axis


def _dimensions(ds, da, what: str) -> tuple[dict[str, str], dict[str, int], str | None]:
    """The time, y and x dimension names; single-valued extra dimensions to squeeze; ERA5's
    ``expver`` dimension to combine."""
    kinds = {dim: axis_kind(ds, str(dim)) for dim in da.dims}
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
    return dims, squeeze, combine


def _dates(ds, da, time_name: str, what: str) -> tuple[np.ndarray, str]:
    """First day of each period and the time scale, from the CF time axis (the middle of its
    bounds when it has them)."""
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
    raw = cf_to_dates(values, str(units), str(calendar), what)
    scale_attr = (da.attrs.get("time_scale") or ds.attrs.get("time_scale")
                  or ds.attrs.get("frequency") or da.attrs.get("frequency"))
    return normalise_dates(raw, scale_from_metadata(scale_attr), what)


def _degrees(ds, name: str, limit: float) -> str | None:
    """None when coordinate ``name`` can be degrees; else why not, in words."""
    units = str(ds[name].attrs.get("units", "")).strip()
    if units and "degree" not in units.lower():
        return f"in {units!r}, not degrees"
    values = np.asarray(ds[name].values, dtype=np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if low < -limit or high > limit:
        return f"from {low:.10g} to {high:.10g}, beyond ±{limit:g}°"
    return None


def _grid(ds, da, dims: dict[str, str], what: str, crs: Any, grid: Grid | None
          ) -> tuple[Grid, AxisOrder, AxisOrder]:
    """The north-up grid of ``da`` and the file's row and column order: from ``grid`` when given,
    else from the 1-D y and x coordinates, with the CRS given, declared, or degrees → EPSG:4326;
    longitudes of a geographic grid rolled to −180…180°."""
    height, width = int(da.sizes[dims["Y"]]), int(da.sizes[dims["X"]])
    if grid is not None:
        if grid.shape != (height, width):
            raise InputError(f"{what}: has {width}×{height} cells (columns × rows) but the grid "
                             f"given for it {grid.width}×{grid.height}")
        y_name, x_name = dims["Y"], dims["X"]
        y = np.asarray(ds[y_name].values, dtype=np.float64) if y_name in ds.variables else None
        x = np.asarray(ds[x_name].values, dtype=np.float64) if x_name in ds.variables else None
        rows = AxisOrder(height, flip=bool(y is not None and y[-1] > y[0]))
        cols = AxisOrder(width, flip=bool(x is not None and x[-1] < x[0]))
        return Grid(as_crs(crs) if crs else grid.crs, grid.transform, width, height), rows, cols
    for kind, label in (("Y", "latitude (y)"), ("X", "longitude (x)")):
        if dims[kind] not in ds.variables:
            raise InputError(f"{what}: the {label} dimension {dims[kind]!r} has no coordinate "
                             "values; give a raster on the same cells as its grid")
    grid_crs = as_crs(crs) if crs else declared_crs(ds, da, what)
    if grid_crs is None:
        problem = _degrees(ds, dims["X"], 360.0) or _degrees(ds, dims["Y"], 90.0)
        if problem:
            raise InputError(
                f"{what}: coordinates {dims['X']}/{dims['Y']} are {problem}, and the file "
                "declares no CRS (no grid_mapping with crs_wkt or spatial_ref); give the grid's "
                "CRS in the CRS parameter of Import time stack (soilp:importstack), e.g. EPSG:3035")
        grid_crs = as_crs("EPSG:4326")
    south, dy, south_first = regular_axis(ds[dims["Y"]].values, what, "latitude (y)")
    if grid_crs.is_geographic:
        west, dx, cols = longitude_axis(ds[dims["X"]].values, what)
    else:
        west, dx, cols = regular_axis(ds[dims["X"]].values, what, "x")
    # North-up rows run from the highest y: the file's order reversed when y ascends.
    rows = AxisOrder(height, flip=not south_first.flip)
    north = clean_number(south + dy * height)
    return Grid(grid_crs, Affine(dx, 0.0, west, 0.0, -dy, north), width, height), rows, cols


def _offset_from(ds, dims: dict[str, str], grid: Grid, rows: AxisOrder, cols: AxisOrder
                 ) -> tuple[float, float] | None:
    """How far the file's own 1-D x/y coordinates of the north-west cell lie from ``grid``'s
    centre of that cell, in cells; None when the file has no such coordinates."""
    if dims["X"] not in ds.variables or dims["Y"] not in ds.variables:
        return None
    x = np.asarray(ds[dims["X"]].values, dtype=np.float64)
    y = np.asarray(ds[dims["Y"]].values, dtype=np.float64)
    t = grid.transform
    return (float((x[cols.source_index(0)] - (t.c + 0.5 * t.a)) / abs(t.a)),
            float((y[rows.source_index(0)] - (t.f + 0.5 * t.e)) / abs(t.e)))


def _valid_range(da) -> tuple[float, float] | None:
    """The variable's valid_range (or valid_min/valid_max) in unpacked units, widened by half a
    packing step; None when it declares none."""
    attrs, encoding = da.attrs, da.encoding
    low, high = -np.inf, np.inf
    if "valid_range" in attrs and np.size(attrs["valid_range"]) == 2:
        low, high = (float(v) for v in np.ravel(attrs["valid_range"]))
        packed = np.asarray(attrs["valid_range"]).dtype
    elif "valid_min" in attrs or "valid_max" in attrs:
        low = float(np.ravel(attrs.get("valid_min", -np.inf))[0])
        high = float(np.ravel(attrs.get("valid_max", np.inf))[0])
        packed = np.asarray(attrs.get("valid_min", attrs.get("valid_max"))).dtype
    else:
        return None
    scale = float(np.ravel(encoding.get("scale_factor", 1.0))[0])
    offset = float(np.ravel(encoding.get("add_offset", 0.0))[0])
    margin = 0.0
    # CF: a valid range of the packed type is in packed units.
    if ("scale_factor" in encoding or "add_offset" in encoding) and packed.kind in "iu":
        low, high = sorted((low * scale + offset, high * scale + offset))
        margin = 0.5 * abs(scale)
    return low - margin, high + margin


@dataclass(frozen=True)
class NetCDFSource:
    """Reads one NetCDF variable's ``(time, y, x)`` values in north-up order."""

    path: str
    variable: str
    time_dim: str
    y_dim: str
    x_dim: str
    rows: AxisOrder
    cols: AxisOrder
    block_shape: tuple[int, int]
    squeeze: dict = field(default_factory=dict)
    combine: str | None = None
    #: unpacked (lowest, highest) valid value from valid_range / valid_min / valid_max
    valid: tuple[float, float] | None = None
    #: with a grid given: the file's own first x and y coordinate minus the grid's first cell
    #: centre, in cells (``(-0.5, 0.5)`` for coordinates at the north-west corners)
    offset_from_grid: tuple[float, float] | None = None

    @classmethod
    def describe(cls, path: str, variable: str | None = None, crs: Any = None,
                 grid: Grid | None = None) -> StackInfo:
        """The stack of ``variable`` (the file's only one on time, y and x when None); ``crs``
        replaces the CRS the file declares; ``grid`` replaces the file's coordinates (same rows
        and columns; row 0 north unless the file's y coordinate ascends)."""
        with open_netcdf(path) as ds:
            variable = pick_variable(ds, path, variable)
            what = f"{path}:{variable}"
            da = ds[variable]
            dims, squeeze, combine = _dimensions(ds, da, what)
            given = grid
            grid, rows, cols = _grid(ds, da, dims, what, crs, grid)
            offset = _offset_from(ds, dims, grid, rows, cols) if given is not None else None
            dates, time_scale = _dates(ds, da, dims["T"], what)

            encoding = da.encoding
            nodata = encoding.get("_FillValue", encoding.get("missing_value"))
            if nodata is not None:
                nodata = float(np.ravel(nodata)[0])
            chunks = dict(zip(da.dims, encoding.get("chunksizes") or da.shape))
            source = cls(path=path, variable=variable, time_dim=dims["T"], y_dim=dims["Y"],
                         x_dim=dims["X"], rows=rows, cols=cols,
                         block_shape=(int(chunks[dims["Y"]]), int(chunks[dims["X"]])),
                         squeeze=squeeze, combine=combine, valid=_valid_range(da),
                         offset_from_grid=offset)
            units = da.attrs.get("units", da.attrs.get("unit", ""))
            return StackInfo(path=path, variable=variable, grid=grid, dates=dates,
                             time_scale=time_scale, units=str(units),
                             nodata=nodata, name=variable, source=source)

    def read(self, window: Window, steps: np.ndarray) -> np.ndarray:
        """The north-up ``window`` at time indices ``steps`` as float32, NaN where missing."""
        with open_netcdf(self.path) as ds:
            if self.variable not in ds.data_vars:
                raise InputError(f"{self.path}: has no variable {self.variable!r}")
            da = ds[self.variable]
            if self.squeeze:
                da = da.isel(self.squeeze)
            contiguous = steps.size and np.array_equal(
                steps, np.arange(steps[0], steps[0] + steps.size))
            da = da.isel({self.time_dim: slice(int(steps[0]), int(steps[0]) + steps.size)
                          if contiguous else steps})
            return read_oriented(lambda r, c: self._block(da, r, c), self.rows, self.cols,
                                 window, int(steps.size))

    def _block(self, da, rows: slice, cols: slice) -> np.ndarray:
        block = da.isel({self.y_dim: rows, self.x_dim: cols})
        order = (self.time_dim, self.y_dim, self.x_dim)
        try:
            if self.combine:
                values = self._valid_only(block.transpose(self.combine, *order).values)
                data = values[0].copy()
                for level in values[1:]:
                    data = np.where(np.isnan(data), level, data)
                return data.astype(np.float32, copy=False)
            return self._valid_only(block.transpose(*order).values).astype(np.float32, copy=False)
        except Exception as exc:
            raise InputError(f"{self.path}: cannot read {self.variable!r} "
                             f"({short_error(exc)})") from exc

    def _valid_only(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.valid is not None:
            low, high = self.valid
            with np.errstate(invalid="ignore"):
                values = np.where((values < low) | (values > high), np.nan, values)
        return values
