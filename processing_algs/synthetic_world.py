"""Synthetic world: the built-in study area (daily weather, snow, three-layer soil, ET, GPP,
LST)."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from . import compat, parameters
from .base import SoilpAlgorithm, described

STACK_OUTPUTS = [
    ("PRECIPITATION", "Precipitation (daily, mm/day)"),
    ("SOIL_MOISTURE_0_7CM", "Soil moisture 0–7 cm (monthly, m³/m³)"),
    ("SOIL_MOISTURE_7_28CM", "Soil moisture 7–28 cm (monthly, m³/m³)"),
    ("SOIL_MOISTURE_28_100CM", "Soil moisture 28–100 cm (monthly, m³/m³)"),
    ("EVAPOTRANSPIRATION", "Evapotranspiration (monthly, mm/month)"),
    ("AIR_TEMPERATURE", "Air temperature (monthly, °C)"),
    ("LAND_SURFACE_TEMPERATURE", "Land surface temperature (monthly, K)"),
    ("GPP", "Gross primary production (monthly, g C m⁻² d⁻¹)"),
    ("ECOREGIONS_RASTER", "Ecoregions (WWF biome code raster)"),
]


class SyntheticWorldAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "syntheticworld"
    DISPLAY_NAME = "Synthetic world (study area)"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "synthetic_world"
    ICON = "synthetic_world.svg"
    TAGS = ["synthetic", "demo", "example data", "test data", "simulation", "biome",
            "soil moisture", "precipitation"]
    SHORT_DESCRIPTION = (
        "Generate a physically based study area (daily weather, three-layer soil, ET, GPP, LST, "
        "biomes) to try the analysis on."
    )
    HELP = (
        "Generates a physically based study area to try the analysis on without downloads: "
        "continents on a lon/lat grid whose land cells carry the 16 WWF biome classes; daily "
        "weather from a wet/dry Markov chain with gamma rain amounts and a seasonal regime per "
        "biome (summer monsoon, Mediterranean winter rain, even), air temperature as a seasonal "
        "cycle plus AR(1) anomalies; snow with degree-day melt; a three-layer soil bucket "
        "(0–7, 7–28, 28–100 cm) with frozen-soil infiltration, runoff and drainage; "
        "evapotranspiration from Priestley–Taylor potential ET limited by soil water and drawn "
        "by roots; GPP by light-use efficiency; LST from air temperature, radiation and water "
        "stress. Writes daily precipitation and monthly soil moisture (three layers), "
        "evapotranspiration, air temperature, LST and GPP as time stacks, and the ecoregions as "
        "a raster and a GeoPackage (BIOME, BIOME_NAME). The same SEED gives the same world."
    )

    def define_parameters(self):
        return [
            described(QgsProcessingParameterExtent(
                "EXTENT", "Extent", defaultValue="-180,180,0,90 [EPSG:4326]", optional=True),
                "The area to simulate (taken in longitude/latitude); empty or the default is "
                "the Northern Hemisphere, as in the paper."),
            described(QgsProcessingParameterNumber(
                "RESOLUTION", "Resolution (degrees)", compat.NUMBER_DOUBLE,
                defaultValue=2.0, minValue=0.05, maxValue=30.0),
                "Cell size in degrees. 2° over the Northern Hemisphere is about 3,200 land "
                "cells and simulates 20 years in well under a minute."),
            described(QgsProcessingParameterNumber(
                "START_YEAR", "First year", compat.NUMBER_INTEGER,
                defaultValue=2000, minValue=1900, maxValue=2100),
                "First simulated year (after a discarded 3-year spin-up)."),
            described(QgsProcessingParameterNumber(
                "END_YEAR", "Last year", compat.NUMBER_INTEGER,
                defaultValue=2019, minValue=1900, maxValue=2100),
                "Last simulated year (inclusive); 2000–2019 as in the paper."),
            described(QgsProcessingParameterNumber(
                "SEED", "Random seed", compat.NUMBER_INTEGER, defaultValue=0,
                minValue=0),
                "Seed of the geography and the weather: the same seed gives the same world."),
            described(QgsProcessingParameterRasterLayer(
                "ECOREGIONS", "Biome raster (geography)", optional=True),
                "Optional: a WWF biome code raster (e.g. the 0.25° Northern Hemisphere biome "
                "raster) sampled at each cell centre instead of generated continents; 0 or "
                "nodata is sea."),
            parameters.choice(
                "PET_METHOD", "Potential evapotranspiration", [
                    ("priestley_taylor", "Priestley–Taylor (radiation)"),
                    ("hargreaves", "Hargreaves (temperature range)")],
                "How potential evapotranspiration is computed.", advanced=True),
            described(QgsProcessingParameterFolderDestination(
                "OUTPUT_FOLDER", "Output folder"),
                "Where the stacks (precipitation_daily.tif, soil_moisture_0_7cm.tif, …) and "
                "ecoregions.tif / ecoregion_polygons.gpkg are written."),
        ]

    def define_outputs(self):
        outputs = [QgsProcessingOutputRasterLayer(name, label) for name, label in STACK_OUTPUTS]
        outputs.append(QgsProcessingOutputVectorLayer("ECOREGIONS", "Ecoregions (polygons)"))
        outputs.append(QgsProcessingOutputNumber("LAND_CELLS", "Land cells"))
        return outputs
