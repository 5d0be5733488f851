"""Import time stack: one variable of a product file (NetCDF, GRIB, GeoTIFF…) as a soilp stack."""

from qgis.core import (
    QgsProcessingParameterCrs,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import parameters
from .base import SoilpAlgorithm, described

FILE_FILTER = ("Gridded product files (*.nc *.nc4 *.netcdf *.cdf *.h5 *.hdf5 *.grib *.grb *.grib2 "
               "*.grb2 *.tif *.tiff *.vrt);;All files (*.*)")


class ImportStackAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "importstack"
    DISPLAY_NAME = "Import time stack"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "import_stack"
    ICON = "import_stack.svg"
    HELP = (
        "Brings one variable of a product file (ERA5-Land, GPCP, GLEAM, CRU TS, ESA CCI, VODCA, "
        "E-OBS…: NetCDF, GRIB, GeoTIFF, anything GDAL or xarray reads) in as a soilp time stack: "
        "a north-up GeoTIFF with the date of each period's first day as band description, the "
        "time scale and the units in its metadata. It normalises what real files do: longitudes "
        "on 0–360° are rolled to −180…180° (a crop across the Greenwich seam included), "
        "latitude may run either way, packed integers are unpacked (scale_factor, add_offset) "
        "and _FillValue, missing_value and values outside valid_range become nodata, CF time is "
        "read in any calendar (noleap, 360_day…) with stamps at the start, middle or end of "
        "each period. The CRS comes from the file (grid_mapping, crs_wkt, spatial_ref); a file "
        "whose coordinates are not degrees and that declares no CRS is refused until CRS is "
        "given, never taken for longitude/latitude. Units are converted when UNITS asks for "
        "other units of the same quantity (m → mm, K → degC, % → m3 m-3, kg m-2 s-1 → mm day-1 "
        "or mm month-1 with each month's true length)."
    )

    def define_parameters(self):
        return [
            described(QgsProcessingParameterFile(
                "INPUT", "Product file", behavior=QgsProcessingParameterFile.Behavior.File,
                fileFilter=FILE_FILTER),
                "The file to import: NetCDF (a variable on time, latitude/y and longitude/x), "
                "GRIB, or a multiband GeoTIFF with band dates."),
            described(QgsProcessingParameterString(
                "VARIABLE", "Variable", optional=True),
                "The NetCDF variable to import (e.g. tmp in a CRU TS file that also holds stn, "
                "swvl1 in an ERA5-Land file). Leave empty when the file holds one; otherwise the "
                "error lists the variables."),
            described(QgsProcessingParameterCrs(
                "CRS", "CRS of the file's grid", optional=True),
                "The coordinate reference system of the file's x/y coordinates, for files that "
                "declare none (e.g. EPSG:3035 for E-OBS regridded to the European LAEA grid); "
                "when given it replaces what the file declares."),
            described(QgsProcessingParameterString(
                "UNITS", "Convert to units", optional=True),
                "Target units, for the same quantity in other units: mm (from m), degC (from "
                "K), m3 m-3 (from %), mm day-1 or mm month-1 (from kg m-2 s-1; per month uses "
                "each month's true number of days and needs a monthly stack). Empty keeps the "
                "file's units."),
            described(QgsProcessingParameterString(
                "START", "First date kept", optional=True),
                "Keep only periods starting on or after this date (1990-01-01 or 1990-01), e.g. "
                "to cut two products to their common months.", advanced=True),
            described(QgsProcessingParameterString(
                "END", "Last date kept", optional=True),
                "Keep only periods starting on or before this date.", advanced=True),
            described(QgsProcessingParameterRasterLayer(
                "GRID", "Grid of the file's cells", optional=True),
                "A raster on exactly the file's cells (same rows and columns): its CRS and cell "
                "edges replace the file's coordinates, for files whose coordinates are missing "
                "or wrong (model inputs with corner coordinates, or none). Row 0 is taken as "
                "north unless the file's y coordinate ascends.", advanced=True),
            parameters.raster_output(
                "OUTPUT", "Imported stack",
                "The time stack: one band per period (description = the period's first day), "
                "time scale and units in its metadata."),
        ]
