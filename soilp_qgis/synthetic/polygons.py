"""Ecoregion polygons of a geography (for the GeoPackage the synthetic-world step writes)."""

from __future__ import annotations

import numpy as np

from .. import tables
from .geography import Geography


def biome_polygons(geography: Geography):
    """The biome raster as polygons: a GeoDataFrame (EPSG:4326) with fields ``BIOME`` (int) and
    ``BIOME_NAME``, one feature per connected patch of a biome (4-connected cells)."""
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape

    biome = np.ascontiguousarray(geography.biome, dtype=np.uint8)
    names = tables.biome_names()
    codes, geometries = [], []
    for geometry, value in features.shapes(biome, mask=biome > 0, connectivity=4,
                                           transform=geography.transform):
        codes.append(int(value))
        geometries.append(shape(geometry))
    frame = gpd.GeoDataFrame(
        {"BIOME": np.asarray(codes, dtype=np.int32),
         "BIOME_NAME": [names[c] for c in codes]},
        geometry=geometries, crs=geography.crs)
    return frame.sort_values("BIOME", kind="stable").reset_index(drop=True)
