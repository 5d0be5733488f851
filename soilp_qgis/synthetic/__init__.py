"""The synthetic study area: a physically based world of weather, soil water and vegetation.

``make_geography`` builds continents, relief, climate normals and the 16 WWF biomes on a lon/lat
grid (or takes the biomes from a given raster); ``simulate`` runs daily weather, snow, a
three-layer soil bucket, evapotranspiration, GPP and LST over it and returns daily precipitation
and monthly soil moisture, ET, air temperature, LST and GPP. Pure functions, no file IO;
deterministic per seed.
"""

from .geography import Geography, make_geography
from .polygons import biome_polygons
from .simulate import SOIL_LAYERS_CM, SyntheticWorld, simulate

__all__ = ["Geography", "SOIL_LAYERS_CM", "SyntheticWorld", "biome_polygons", "make_geography",
           "simulate"]
