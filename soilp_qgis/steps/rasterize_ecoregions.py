"""``rasterize_ecoregions``: ecoregion polygons onto a reference grid (soilp:rasterizeecoregions).

Parameters: ``input`` (polygon layer; ``file.gpkg|layername=…`` accepted), ``field`` (integer
codes, default ``BIOME``; the WWF file stores it as a Real), ``reference`` (raster whose grid to
use), ``output`` (integer GeoTIFF, 0 = no ecoregion). The sidecar style names the WWF biomes, or
lists the codes of any other field.
"""

from __future__ import annotations

import numpy as np

from ..ecoregions import NO_ECOREGION, biome_names, burn_ecoregions, read_ecoregion_polygons
from ..protocol import Reporter
from ..styles import StyleClass, biome_style, paletted_style
from ..timestack import write_raster
from ._inputs import reference_grid
from .common import required

#: colours cycled over the codes of a field other than BIOME (ColorBrewer Paired)
QUALITATIVE = ["#a6cee3", "#1f78b4", "#b2df8a", "#33a02c", "#fb9a99", "#e31a1c", "#fdbf6f",
               "#ff7f00", "#cab2d6", "#6a3d9a", "#ffff99", "#b15928"]


def ecoregion_style(codes) -> str:
    """Paletted style: the biome names when every code is a WWF biome, else one colour per code."""
    codes = sorted(int(c) for c in codes)
    if set(codes) <= set(biome_names()):
        return biome_style()
    return paletted_style(StyleClass(code, str(code), QUALITATIVE[i % len(QUALITATIVE)])
                          for i, code in enumerate(codes))


def rasterize_ecoregions(params: dict, report: Reporter) -> dict:
    """Rasterize ``input``'s ``field`` onto the grid of ``reference``; write ``output``."""
    source = str(required(params, "input"))
    field = str(params.get("field") or "BIOME")
    output = str(required(params, "output"))
    grid = reference_grid(str(required(params, "reference")))
    polygons = read_ecoregion_polygons(source, field=field, layer=params.get("layer") or None)
    report.info(f"layer {polygons.layer!r}: {len(polygons.codes)} polygons, "
                f"{np.unique(polygons.codes).size} {field} codes")
    if polygons.left_out:
        report.warning(f"{polygons.left_out} feature(s) of layer {polygons.layer!r} left out: "
                       f"empty geometry, or {field} null or not positive")
    report.progress(0.3)
    codes = burn_ecoregions(polygons, grid)
    report.progress(0.8)
    present, cells = np.unique(codes[codes != NO_ECOREGION], return_counts=True)
    if present.size == 0:
        report.warning(f"no cell centre of the reference grid lies in a polygon of "
                       f"{polygons.layer!r}: the output is empty")
    write_raster(output, codes, grid, codes.dtype, NO_ECOREGION, band_names=[field],
                 style_qml=ecoregion_style(np.unique(polygons.codes)),
                 tags={"field": field, "source": source})
    return {"OUTPUT": output, "FIELD": field,
            "CELLS_PER_CODE": {str(c): int(n) for c, n in zip(present, cells)}}
