"""Rasterize ecoregions: ecoregion polygons burnt onto a reference grid as integer codes."""

from qgis.core import (
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterRasterLayer,
)

from . import compat, parameters
from .base import SoilpAlgorithm, described


class RasterizeEcoregionsAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "rasterizeecoregions"
    DISPLAY_NAME = "Rasterize ecoregions"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "rasterize_ecoregions"
    ICON = "rasterize_ecoregions.svg"
    TAGS = ["rasterize", "ecoregions", "WWF", "biome", "polygons", "zones", "classes"]
    SHORT_DESCRIPTION = (
        "Burn ecoregion polygons (e.g. the WWF biomes) onto a reference grid as integer codes."
    )
    HELP = (
        "Burns ecoregion polygons onto the grid of a reference raster: each cell gets the FIELD "
        "code of the polygon that contains its centre, 0 where none does. The output is an "
        "integer raster whose style names the classes: the WWF biome names when every code is "
        "a WWF biome (1–14, 98 lakes, 99 rock and ice), else one colour per code. Use it as "
        "ECOREGIONS_RASTER in the other algorithms, or to compare with an ecoregion raster."
    )

    def define_parameters(self):
        return [
            described(QgsProcessingParameterFeatureSource(
                "INPUT", "Ecoregions (polygon layer)", [compat.SOURCE_VECTOR_POLYGON]),
                "The ecoregion polygons, e.g. the WWF Terrestrial Ecoregions of the World."),
            described(QgsProcessingParameterField(
                "FIELD", "Ecoregion field", defaultValue="BIOME", parentLayerParameterName="INPUT",
                type=compat.FIELD_ANY, optional=True),
                "The field holding the integer ecoregion code; empty: BIOME (WWF: BIOME, stored "
                "as Real in the WWF files, read as integer). Features whose code is empty or not "
                "positive are left out."),
            described(QgsProcessingParameterRasterLayer("REFERENCE", "Reference grid"),
                      "A raster whose CRS and grid the output takes, e.g. a band of the stacks "
                      "the ecoregions will summarise."),
            parameters.raster_output(
                "OUTPUT", "Ecoregion raster",
                "Integer codes on the reference grid, 0 = no ecoregion (nodata), styled with "
                "the class names."),
        ]
