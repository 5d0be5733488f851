"""Parameters several soilp algorithms share, with their help text, so that every algorithm asks
for a time stack, a season, the ecoregions or the worker count the same way."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from . import compat
from .base import described

STACK_HELP = ("A time stack: a multiband GeoTIFF whose band i is time step i (band description "
              "= ISO date of the period's first day, e.g. 2000-01-01), or a NetCDF variable with "
              "CF time. Stacks used together must share CRS, grid and time steps.")

SEASONS = [("all", "All time steps"), ("MAM", "MAM (March–May)"), ("JJA", "JJA (June–August)"),
           ("SON", "SON (September–November)"),
           ("DJF", "DJF (December–February of the next year)")]


def time_stack(name: str, description: str, what: str, optional: bool = False):
    """A raster time stack input; ``what`` says which variable and units are expected."""
    return described(QgsProcessingParameterRasterLayer(name, description, optional=optional),
                     f"{what} {STACK_HELP}")


def choice(name: str, description: str, options: list[tuple[str, str]], help_text: str,
           default: int = 0, advanced: bool = False):
    """An enum parameter from ``(engine value, label)`` pairs: the dialog shows the labels, the
    engine receives the values."""
    return described(
        QgsProcessingParameterEnum(name, description, options=[label for _, label in options],
                                   defaultValue=default),
        help_text, values=[value for value, _ in options], advanced=advanced)


def season(name: str = "SEASON"):
    return choice(
        name, "Season", SEASONS,
        "Keep only the time steps of one season: for monthly stacks that season's months of "
        "every year, for seasonal stacks that season's values. DJF is December of year y with "
        "January and February of y+1.")


def ecoregions(optional: bool = True):
    """ECOREGIONS (polygons) + FIELD, and ECOREGIONS_RASTER: either gives the class per cell."""
    return [
        described(QgsProcessingParameterFeatureSource(
            "ECOREGIONS", "Ecoregions (polygon layer)", [compat.SOURCE_VECTOR_POLYGON],
            optional=optional),
            "The ecoregions as polygons, e.g. the WWF Terrestrial Ecoregions of the World; they "
            "are rasterized onto the stacks' grid (cell centres) using FIELD."),
        described(QgsProcessingParameterField(
            "FIELD", "Ecoregion field", defaultValue="BIOME", parentLayerParameterName="ECOREGIONS",
            type=compat.FIELD_ANY, optional=True),
            "The field holding the ecoregion class (WWF: BIOME, codes 1–14, 98 lakes, 99 rock "
            "and ice; stored as Real in the WWF files, read as integer)."),
        described(QgsProcessingParameterRasterLayer(
            "ECOREGIONS_RASTER", "Ecoregions (integer raster on the stacks' grid)", optional=True),
            "Instead of polygons: an integer raster on exactly the stacks' grid, e.g. the output "
            "of Rasterize ecoregions; 0 = no ecoregion.", advanced=True),
    ]


def processes():
    return described(
        QgsProcessingParameterNumber("PROCESSES", "Engine worker processes",
                                     compat.NUMBER_INTEGER, defaultValue=0,
                                     minValue=0),
        "Worker processes the engine runs the grid's blocks on; 0 = every core. Results do not "
        "depend on it.", advanced=True)


def min_observations(default: int):
    return described(
        QgsProcessingParameterNumber("MIN_OBSERVATIONS", "Minimum valid time steps per cell",
                                     compat.NUMBER_INTEGER, defaultValue=default,
                                     minValue=3),
        "Cells with fewer time steps where all inputs are valid are left empty, with status "
        "'too few values'.")


def raster_output(name: str, description: str, help_text: str, optional: bool = False):
    definition = QgsProcessingParameterRasterDestination(name, description, optional=optional,
                                                         createByDefault=not optional)
    return described(definition, help_text)


def status_output():
    return raster_output(
        "OUTPUT_STATUS", "Status per cell",
        "Why a cell is empty: 0 fitted, 1 no data, 2 too few values, 3 constant series, 4 too "
        "many ties, 5 fit failed (Byte; the style names the codes). Cells with a non-zero "
        "status are nodata in every other output.")


def csv_output(name: str, description: str, help_text: str, optional: bool = False):
    return described(QgsProcessingParameterFileDestination(
        name, description, "CSV files (*.csv)", optional=optional, createByDefault=not optional),
        help_text)
