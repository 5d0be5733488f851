"""``bayesian_drivers``: per ecoregion, the multivariate Bayesian model of precipitation and soil
moisture on air temperature, GPP, LST and their interactions (paper section 2.2.3), with the
quadrant/k-means figure, the diagnostics report and the ecoregion layer."""

from __future__ import annotations

from pathlib import Path
import numpy as np
import pandas as pd

from ..errors import InputError
from ..protocol import Reporter
from ..timestack import read_stack
from .common import (
    ecoregion_codes,
    ecoregion_label,
    open_stacks,
    season_time_steps,
    write_csv,
    write_geopackage,
)

STACKS = ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst")


def ecoregion_blocks(stacks: dict[str, np.ndarray], codes: np.ndarray
                     ) -> dict[int, dict[str, np.ndarray]]:
    """Each ecoregion's ``(cells, time)`` block of every variable, ecoregions by code."""
    blocks = {}
    for code in np.unique(codes[codes > 0]):
        mask = codes == code
        blocks[int(code)] = {key: values[:, mask].T for key, values in stacks.items()}
    return blocks


def ecoregion_layer(points: pd.DataFrame, diagnostics: pd.DataFrame, params: dict, grid,
                    codes: np.ndarray):
    """Ecoregion polygons with, per term, the P and SM estimates, quadrant and cluster, and the
    ``converged`` flag."""
    import geopandas

    from ..ecoregions import read_ecoregion_polygons

    if params.get("ecoregions"):
        polygons = read_ecoregion_polygons(params["ecoregions"], params.get("field") or "BIOME")
        frame = geopandas.GeoDataFrame({"ecoregion": polygons.codes},
                                       geometry=polygons.geometries.values,
                                       crs=polygons.geometries.crs)
    else:  # an ecoregion raster: its cells as polygons
        from rasterio import features
        from shapely.geometry import shape

        shapes = [(shape(geometry), int(value)) for geometry, value in features.shapes(
            codes.astype(np.int32), mask=codes > 0, transform=grid.transform)]
        frame = geopandas.GeoDataFrame({"ecoregion": [v for _, v in shapes]},
                                       geometry=[g for g, _ in shapes], crs=grid.crs)
    frame = frame.dissolve(by="ecoregion", as_index=False)
    frame["ecoregion_name"] = [ecoregion_label(code) for code in frame["ecoregion"]]
    status = diagnostics.set_index("ecoregion")
    frame["status"] = [str(status["status"].get(code, "not in grid")) for code in frame["ecoregion"]]
    frame["converged"] = [bool(status["converged"].get(code, False)) for code in frame["ecoregion"]]
    for term, rows in points.groupby("term", sort=False):
        stem = str(term).replace(":", "_")
        by_code = rows.set_index("ecoregion")
        for column, source in (("P", "estimate_P"), ("SM", "estimate_SM"),
                               ("quadrant", "quadrant"), ("cluster", "cluster")):
            frame[f"{stem}_{column}"] = [by_code[source].get(code) for code in frame["ecoregion"]]
    return frame


def bayesian_drivers(params: dict, report: Reporter) -> dict:
    from ..bayes.drivers import fit_ecoregions
    from ..bayes.quadrants import driver_points
    from ..bayes.report import driver_figure, figure_png, write_report
    from ..bayes.sampling import SamplerSettings
    from ..bayes.summary import coefficient_table, diagnostics_table

    infos = open_stacks(params, list(STACKS))
    first = infos["precipitation"]
    grid = first.grid
    codes = ecoregion_codes(params, grid)
    if codes is None:
        raise InputError("ECOREGIONS (polygon layer) or ECOREGIONS_RASTER is required")
    data = params.get("data") or "cells"
    settings = SamplerSettings(
        chains=int(params.get("chains") or 4), tune=int(params.get("tune") or 2000),
        draws=int(params.get("draws") or 2000),
        max_treedepth=int(params.get("max_treedepth") or 10),
        target_accept=float(params.get("target_accept") or 0.8),
        seed=int(params.get("seed") or 0), sampler=params.get("sampler") or "nutpie")
    settings.validate()
    steps = season_time_steps(first, params.get("season"))
    stacks = {key: read_stack(info, time=steps) for key, info in infos.items()}
    blocks = ecoregion_blocks(stacks, codes)
    if not blocks:
        raise InputError("no ecoregion code (> 0) lies on the stacks' grid")
    report.info(f"{len(blocks)} ecoregions, DATA={data}, {settings.chains} chains × "
                f"({settings.tune} warm-up + {settings.draws} draws), sampler {settings.sampler}")
    sampling = report.sub(0.0, 0.9)
    fits = fit_ecoregions(blocks, data=data, max_cells=int(params.get("max_cells") or 200),
                          settings=settings,
                          progress=lambda where: sampling.progress(where.fraction),
                          log=report.info)
    coefficients = coefficient_table(fits)
    diagnostics = diagnostics_table(fits)
    names = {code: ecoregion_label(code) for code in blocks}
    drivers = driver_points(coefficients, int(params.get("n_clusters") or 3),
                            seed=settings.seed)
    negative = drivers.points[drivers.points["negative_dependence"]]
    if len(negative):
        report.info("drivers of negative dependence (quadrants II and IV): " + "; ".join(
            f"{names.get(e, e)}: {', '.join(group['term'])}"
            for e, group in negative.groupby("ecoregion")))

    results: dict = {"ECOREGIONS_FITTED": int((diagnostics["status"] == "fitted").sum()),
                     "ECOREGIONS_CONVERGED": int(diagnostics["converged"].sum())}
    if params.get("output_table"):
        table = coefficients.assign(ecoregion_name=[names.get(e, str(e))
                                                    for e in coefficients["ecoregion"]])
        results["OUTPUT_TABLE"] = str(write_csv(params["output_table"],
                                                table.to_dict("records")))
    title = "Bayesian drivers of the precipitation–soil moisture dependence" + (
        f" ({params['season']})" if params.get("season") not in (None, "", "all") else "")
    figure = driver_figure(drivers, title)
    if params.get("output_figure"):
        Path(params["output_figure"]).parent.mkdir(parents=True, exist_ok=True)
        Path(params["output_figure"]).write_bytes(figure_png(figure))
        results["OUTPUT_FIGURE"] = str(params["output_figure"])
    if params.get("output_report"):
        results["OUTPUT_REPORT"] = str(write_report(
            params["output_report"], diagnostics.assign(
                ecoregion=[names.get(e, str(e)) for e in diagnostics["ecoregion"]]),
            drivers, figure, title=title,
            settings={"DATA": data, "chains": settings.chains, "tune": settings.tune,
                      "draws": settings.draws, "max_treedepth": settings.max_treedepth,
                      "target_accept": settings.target_accept, "seed": settings.seed,
                      "sampler": settings.sampler}))
    if params.get("output_layer"):
        frame = ecoregion_layer(drivers.points, diagnostics, params, grid, codes)
        results["OUTPUT_LAYER"] = str(write_geopackage(frame, params["output_layer"],
                                                       "bayesian_drivers"))
    skipped = diagnostics[diagnostics["status"] != "fitted"]
    for _, row in skipped.iterrows():
        report.warning(f"ecoregion {names.get(row['ecoregion'], row['ecoregion'])} "
                       f"{row['status']}: {row['reason']}")
    return results
