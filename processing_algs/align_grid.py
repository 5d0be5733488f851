"""Align time stack to grid: resample every band of a stack onto a reference raster's grid."""

from qgis.core import QgsProcessingParameterRasterLayer

from . import parameters
from .base import SoilpAlgorithm, described

RESAMPLINGS = [("average", "Average (for coarsening)"), ("bilinear", "Bilinear"),
               ("nearest", "Nearest neighbour"), ("mode", "Mode (classes)")]


class AlignGridAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "aligngrid"
    DISPLAY_NAME = "Align time stack to grid"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "align_grid"
    ICON = "align_grid.svg"
    TAGS = ["resample", "regrid", "reproject", "align", "grid", "time stack", "GLEAM", "ERA5",
            "GPCP", "CRU"]
    SHORT_DESCRIPTION = (
        "Resample every band of a time stack onto a reference raster's grid, keeping the band "
        "dates."
    )
    HELP = (
        "Resamples every band of a time stack onto the CRS and grid (extent, cell size, "
        "rows and columns) of a reference raster, so that stacks from different sources can be "
        "analysed together. Band dates, time scale and units are kept. Cells of the reference "
        "grid that the stack does not cover are nodata."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("INPUT", "Time stack", "The stack to resample."),
            described(QgsProcessingParameterRasterLayer("REFERENCE", "Reference grid"),
                      "A raster whose CRS and grid the output takes, e.g. a band of the soil "
                      "moisture stack or the ecoregion raster."),
            parameters.choice(
                "RESAMPLING", "Resampling", RESAMPLINGS,
                "average for coarsening (the area-weighted mean of the valid source cells a "
                "target cell covers); bilinear for refining continuous variables; nearest to "
                "copy the source cell under each target cell centre; mode for classes."),
            parameters.raster_output(
                "OUTPUT", "Aligned stack",
                "The stack on the reference grid, with the input's band dates."),
        ]
