"""Reading CF metadata of a NetCDF variable: which dimension is time, y or x, which variable to
take, its CRS."""

from __future__ import annotations

import warnings

from rasterio.crs import CRS

from ..errors import InputError
from .files import short_error
from .grid import as_crs


def open_netcdf(path: str):
    """``xarray.open_dataset`` without time decoding, packed values unpacked and fill values NaN;
    an InputError naming the file when it cannot be read."""
    import xarray as xr

    try:
        with warnings.catch_warnings():
            # Several fill values (_FillValue and missing_value) all become NaN, as intended.
            warnings.filterwarnings("ignore", message=".*multiple fill values.*")
            return xr.open_dataset(path, decode_times=False, decode_timedelta=False,
                                   mask_and_scale=True, cache=False)
    except Exception as exc:
        raise InputError(f"{path}: not a readable NetCDF file ({short_error(exc)})") from exc


def axis_kind(ds, dim: str) -> str | None:
    """'T', 'Y', 'X' for a dimension that is time / latitude-like / longitude-like."""
    attrs = ds[dim].attrs if dim in ds.variables else {}
    axis = str(attrs.get("axis", "")).upper()
    standard = str(attrs.get("standard_name", "")).lower()
    units = str(attrs.get("units", "")).lower()
    lname = dim.lower()
    if axis == "T" or standard == "time" or " since " in units \
            or lname in ("time", "valid_time", "t"):
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


def pick_variable(ds, path: str, variable: str | None) -> str:
    """``variable`` if the file has it, else the file's only variable on time, y and x; an
    InputError listing the candidates when there are several."""
    if variable is not None:
        if variable not in ds.data_vars:
            names = ", ".join(sorted(map(str, ds.data_vars))) or "none"
            raise InputError(f"{path}: has no variable {variable!r} (variables: {names})")
        return variable
    candidates = [str(v) for v, da in ds.data_vars.items()
                  if {axis_kind(ds, d) for d in da.dims} >= {"T", "Y", "X"}]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{path}: has no variable with time, latitude and longitude dimensions")
    raise InputError(f"{path}: holds several variables ({', '.join(candidates)}); choose one "
                     f"with VARIABLE (e.g. {candidates[0]}) or as {path}:{candidates[0]}")


def _grid_mapping(ds, da) -> dict | None:
    """The attributes of ``da``'s grid mapping variable; without a ``grid_mapping`` attribute the
    file's only variable that looks like one (GDAL and rioxarray write ``crs``/``spatial_ref``)."""
    name = da.attrs.get("grid_mapping") or da.encoding.get("grid_mapping")
    if name and name in ds.variables:
        return dict(ds[name].attrs)
    keys = ("grid_mapping_name", "crs_wkt", "spatial_ref")
    found = [dict(v.attrs) for v in ds.variables.values() if any(k in v.attrs for k in keys)]
    return found[0] if len(found) == 1 else None


def declared_crs(ds, da, what: str) -> CRS | None:
    """The CRS the file declares for ``da`` (``grid_mapping`` with ``crs_wkt``/``spatial_ref`` or
    CF projection parameters), EPSG:4326 for a plain ``latitude_longitude`` mapping, None when the
    file declares nothing."""
    gm = _grid_mapping(ds, da)
    if gm is None:
        return None
    for key in ("crs_wkt", "spatial_ref"):
        if gm.get(key):
            return as_crs(gm[key])
    mapping = str(gm.get("grid_mapping_name", "latitude_longitude"))
    if mapping != "latitude_longitude":
        try:
            import pyproj

            return CRS.from_wkt(pyproj.CRS.from_cf(dict(gm)).to_wkt())
        except Exception as exc:
            raise InputError(f"{what}: cannot read the grid mapping {mapping!r} "
                             f"({short_error(exc)})") from exc
    # Plain latitude/longitude (a sphere included) is taken as WGS 84 longitude/latitude.
    return CRS.from_epsg(4326)
