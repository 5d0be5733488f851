"""``rasterize_ecoregions``: ecoregion polygons onto a reference grid (soilp:rasterizeecoregions).

Parameters: ``input`` (polygon layer; ``file.gpkg|layername=…`` accepted), ``field`` (integer
codes, default ``BIOME``; the WWF file stores it as a Real), ``reference`` (raster whose grid to
use), ``output`` (integer GeoTIFF, 0 = no ecoregion). The sidecar style names the WWF biomes, or
lists the codes of any other field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import contract
from ..contract import FileOutput, StepParameters
from ..ecoregions import NO_ECOREGION, biome_names, burn_ecoregions, read_ecoregion_polygons
from ..protocol import Reporter
from ..styles import StyleClass, biome_style, paletted_style
from ..timestack import write_raster
from ._inputs import reference_grid
from .outputs import StepOutputs, engine_step

#: colours cycled over the codes of a field other than BIOME (ColorBrewer Paired)
QUALITATIVE = ["#a6cee3", "#1f78b4", "#b2df8a", "#33a02c", "#fb9a99", "#e31a1c", "#fdbf6f",
               "#ff7f00", "#cab2d6", "#6a3d9a", "#ffff99", "#b15928"]


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``rasterize_ecoregions`` (soilp:rasterizeecoregions)."""

    STEP = "rasterize_ecoregions"

    input: str = contract.vector(required=True)
    field: str = contract.field_name()
    reference: str = contract.raster()
    output: str = contract.raster_output(required=True)


OUTPUTS = (FileOutput("output", "raster", "integer codes of FIELD, 0 = no ecoregion (nodata), "
                                          "styled with the biome names or one colour per code"),)


def ecoregion_style(codes) -> str:
    """Paletted style: the biome names when every code is a WWF biome, else one colour per code."""
    codes = sorted(int(c) for c in codes)
    if set(codes) <= set(biome_names()):
        return biome_style()
    return paletted_style(StyleClass(code, str(code), QUALITATIVE[i % len(QUALITATIVE)])
                          for i, code in enumerate(codes))


@engine_step(Parameters, OUTPUTS)
def rasterize_ecoregions(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Rasterize ``input``'s ``field`` onto the grid of ``reference``; write ``output``."""
    source, field = str(p.input), p.field or "BIOME"
    grid = reference_grid(str(p.reference))
    polygons = read_ecoregion_polygons(source, field=field)
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
    write_raster(outputs.path("output"), codes, grid, codes.dtype, NO_ECOREGION,
                 band_names=[field], style_qml=ecoregion_style(np.unique(polygons.codes)),
                 tags={"field": field, "source": source})
    return {"OUTPUT": p.output, "FIELD": field,
            "CELLS_PER_CODE": {str(c): int(n) for c, n in zip(present, cells)}}
