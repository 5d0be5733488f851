"""Parameters several soilp algorithms share, with their help text, so that every algorithm asks
for a time stack, a season, the ecoregions or the worker count the same way."""

from __future__ import annotations

from typing import Optional

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
from .base import VALUES_KEY, described

STACK_HELP = ("A time stack: a multiband GeoTIFF whose band i is time step i (band description "
              "= ISO date of the period's first day, e.g. 2000-01-01), or a NetCDF variable with "
              "CF time. Stacks used together must share CRS, grid and time steps.")

SEASONS = [("all", "All time steps"), ("MAM", "MAM (Mar–May)"), ("JJA", "JJA (Jun–Aug)"),
           ("SON", "SON (Sep–Nov)"), ("DJF", "DJF (Dec–Feb)")]


def time_stack(name: str, description: str, what: str, optional: bool = False):
    """A raster time stack input; ``what`` says which variable and units are expected."""
    return described(QgsProcessingParameterRasterLayer(name, description, optional=optional),
                     f"{what} {STACK_HELP}")


class ChoiceParameter(QgsProcessingParameterEnum):
    """An enum parameter whose options are ``(engine value, label)`` pairs: the dialog shows the
    labels; headless calls may give the index (``SCALE=0``), the engine value
    (``SCALE=monthly``) or the label, and the engine receives the value.

    The engine values ride in the definition's metadata (``VALUES_KEY``), so a model or a
    serialized definition keeps working as a plain enum of labels and indices.
    """

    def engine_values(self) -> list[str]:
        return list(self.metadata().get(VALUES_KEY) or self.options())

    def index_of_name(self, value) -> Optional[int]:
        """The option a name stands for (engine value or label, case-insensitive), or None."""
        if not isinstance(value, str):
            return None
        wanted = value.strip().casefold()
        for names in (self.engine_values(), self.options()):
            folded = [name.casefold() for name in names]
            if wanted in folded:
                return folded.index(wanted)
        return None

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802 - QGIS's name
        if self.index_of_name(value) is not None:
            return True
        return super().checkValueIsAcceptable(value, context)

    def valueAsPythonString(self, value, context):  # noqa: N802 - QGIS's name
        if self.index_of_name(value) is not None:
            return repr(value.strip())
        return super().valueAsPythonString(value, context)

    def clone(self):
        copy = ChoiceParameter(self.name(), self.description(), self.options(),
                               self.allowMultiple(), self.defaultValue())
        copy.setFlags(self.flags())
        copy.setMetadata(self.metadata())
        if hasattr(copy, "setHelp"):
            copy.setHelp(self.help())
        return copy


def choice(name: str, description: str, options: list[tuple[str, str]], help_text: str,
           default: int = 0, advanced: bool = False):
    """An enum parameter from ``(engine value, label)`` pairs: the dialog shows the labels, the
    engine receives the values; headless calls may name the option (value or label)."""
    values = [value for value, _ in options]
    help_text = f"{help_text} Headless: {' | '.join(values)} (or the option's index)."
    return described(
        ChoiceParameter(name, description, [label for _, label in options], False, default),
        help_text, values=values, advanced=advanced)


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
            "ECOREGIONS_RASTER", "Ecoregions as a raster", optional=True),
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


def status_output(description: str = "Status per cell", optional: bool = False):
    return raster_output(
        "OUTPUT_STATUS", description,
        "Why a cell is empty: 0 fitted, 1 no data, 2 too few values, 3 constant series, 4 too "
        "many ties, 5 fit failed (Byte; the style names the codes). Cells with a non-zero "
        "status are nodata in every other output.", optional=optional)


def csv_output(name: str, description: str, help_text: str, optional: bool = False):
    return described(QgsProcessingParameterFileDestination(
        name, description, "CSV files (*.csv)", optional=optional, createByDefault=not optional),
        help_text)


def significance(replicates: int, replicate_help: str):
    """ALPHA, BOOTSTRAP_REPLICATES, BLOCK_LENGTH, SEED of the dependence algorithms."""
    return [
        described(QgsProcessingParameterNumber(
            "ALPHA", "Significance level α", compat.NUMBER_DOUBLE, defaultValue=0.05,
            minValue=0.001, maxValue=0.25),
            "Field significance level. Cells are tested with Kendall's test (two-sided, ties of "
            "dry months accounted for) and the false discovery rate is controlled over the "
            "whole map by Benjamini–Hochberg at 2 α, as Wilks (2016) recommends for spatially "
            "correlated tests."),
        described(QgsProcessingParameterNumber(
            "BOOTSTRAP_REPLICATES", "Bootstrap replicates", compat.NUMBER_INTEGER,
            defaultValue=replicates, minValue=0, maxValue=5000),
            f"Replicates of the moving-block bootstrap over time: the same time blocks are "
            f"resampled for every cell, so serial and spatial correlation are kept. "
            f"{replicate_help} 0 = no bootstrap.", advanced=True),
        described(QgsProcessingParameterNumber(
            "BLOCK_LENGTH", "Bootstrap block length (time steps)", compat.NUMBER_INTEGER,
            defaultValue=0, minValue=0),
            "Consecutive time steps per bootstrap block; 0 = the cube root of the series "
            "length, rounded up (7 for 240 months, 3 for 20 years).", advanced=True),
        described(QgsProcessingParameterNumber(
            "SEED", "Bootstrap seed", compat.NUMBER_INTEGER, defaultValue=0, minValue=0),
            "Seed of the bootstrap's draws: the same seed gives the same results whatever the "
            "number of worker processes.", advanced=True),
    ]


def significance_output(what: str):
    return raster_output(
        "OUTPUT_SIGNIFICANCE", "Significance (FDR)",
        f"{what}: −1 significantly negative, 0 not significant, +1 significantly positive "
        f"after false discovery rate control over the map (Int16; −128 = not computed).",
        optional=True)
