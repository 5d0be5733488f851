"""Raster time stacks: the engine's edge for reading and writing them.

A *time stack* is one multiband GeoTIFF: band i is time step i, its band description the ISO date
of the period's first day (``2000-01-01``), nodata set, the time scale (``daily``, ``monthly``,
``seasonal``, ``annual``) and the units in its metadata. A NetCDF variable with CF time is read as
a stack too. Whatever the source, a stack comes out north-up: row 0 is the northernmost row, the
grid's geotransform has a negative row step, and the data are ``float32`` ``(time, rows, cols)``
with NaN where a value is missing.

Two stacks used together must share CRS, grid and time steps (:func:`check_stacks_match`); nothing
is silently resampled. Outputs are written atomically (a temporary file in the same folder, renamed
when complete) with a sidecar ``.qml`` style beside them.

Modules: ``grid`` (Grid, CRS), ``dates`` (time scales, seasons, band dates), ``orient`` (north-up
row and column order, once for every format), ``info`` (StackInfo, the Source interface),
``geotiff`` and ``netcdf`` (one source class per format), ``cf`` (CF metadata), ``reading``
(read_stack_info, read_stack), ``matching`` (check_stacks_match), ``writer``.
"""

from rasterio.windows import Window

from .dates import format_date, infer_time_scale, parse_date
from .files import NETCDF_SUFFIXES
from .geotiff import GeoTiffSource, read_raster
from .grid import Grid
from .info import StackInfo
from .matching import check_stacks_match
from .netcdf import NetCDFSource
from .reading import read_stack, read_stack_info
from .writer import TILE_SIZE, RasterWriter, open_stack_writer, write_raster, write_stack

__all__ = [
    "NETCDF_SUFFIXES", "TILE_SIZE", "GeoTiffSource", "Grid", "NetCDFSource", "RasterWriter",
    "StackInfo", "Window", "check_stacks_match", "format_date", "infer_time_scale",
    "open_stack_writer", "parse_date", "read_raster", "read_stack", "read_stack_info",
    "write_raster", "write_stack",
]
