"""``bayesian_drivers``: per ecoregion, the multivariate Bayesian model of precipitation and soil
moisture on air temperature, GPP, LST and their interactions (the paper's section 2.2.3, see
docs/REFERENCES.md [paper], [brms]), with the quadrant/k-means figure, the diagnostics report and
the ecoregion layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError, SoilpError
from ..protocol import Reporter
from ..timestack import read_stack
from .common import (
    ecoregion_codes,
    ecoregion_label,
    open_stacks,
    season_parameter,
    season_time_steps,
    write_geopackage,
)
from .outputs import StepOutputs, engine_step

STACKS = ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst")
#: ``bayes.data.DATA_MODES`` and the samplers of ``bayes.sampling.SAMPLERS`` the toolbox offers,
#: named here so that reading the parameters does not import pymc (a test checks they agree)
DATA_MODES = ("cells", "ecoregion_mean")
SAMPLERS = ("nutpie", "pymc")
#: ``bayes.model.RANDOM_INTERCEPT_FORMS`` and ``bayes.sampling.MASS_MATRICES``, likewise
RANDOM_INTERCEPTS = ("centred", "non_centred", "marginalised")
MASS_MATRICES = ("diagonal", "low_rank")


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``bayesian_drivers`` (soilp:bayesiandrivers); the defaults are the sampler
    settings of the paper (docs/REFERENCES.md [paper])."""

    STEP = "bayesian_drivers"

    precipitation: str = contract.stack()
    soil_moisture: str = contract.stack()
    air_temperature: str = contract.stack()
    gpp: str = contract.stack()
    lst: str = contract.stack()
    ecoregions: str | None = contract.vector()
    field: str | None = contract.field_name()
    ecoregions_raster: str | None = contract.raster(required=False)
    season: str = season_parameter()
    data: str = contract.choice(DATA_MODES, "cells")
    max_cells: int = contract.integer(200, minimum=2)
    chains: int = contract.integer(4, minimum=1)
    tune: int = contract.integer(2000, minimum=0)
    draws: int = contract.integer(2000, minimum=1)
    max_treedepth: int = contract.integer(10, minimum=1)
    target_accept: float = contract.number(0.8, minimum=0.5, maximum=0.999)
    seed: int = contract.integer(0, minimum=0)
    n_clusters: int = contract.integer(3, minimum=1)
    sampler: str = contract.choice(SAMPLERS, "nutpie")
    random_intercepts: str = contract.choice(RANDOM_INTERCEPTS, "marginalised")
    mass_matrix: str = contract.choice(MASS_MATRICES, "low_rank")
    output_table: str | None = contract.file_output()
    output_layer: str | None = contract.vector_output()
    output_figure: str | None = contract.file_output()
    output_report: str | None = contract.file_output()

    def validate(self) -> None:
        if not (self.ecoregions or self.ecoregions_raster):
            raise InputError("ECOREGIONS (polygon layer) or ECOREGIONS_RASTER is required")


OUTPUTS = (
    FileOutput("output_table", "csv", "posterior summary per (ecoregion, parameter, term, "
                                      "response)"),
    FileOutput("output_layer", "gpkg", "ecoregion polygons with the drivers per term"),
    FileOutput("output_figure", "png", "the quadrant / k-means figure"),
    FileOutput("output_report", "html", "the figure and the convergence diagnostics"),
)


def ecoregion_blocks(stacks: dict[str, np.ndarray], codes: np.ndarray
                     ) -> dict[int, dict[str, np.ndarray]]:
    """Each ecoregion's ``(cells, time)`` block of every variable, ecoregions by code."""
    blocks = {}
    for code in np.unique(codes[codes > 0]):
        mask = codes == code
        blocks[int(code)] = {key: values[:, mask].T for key, values in stacks.items()}
    return blocks


def ecoregion_layer(points: pd.DataFrame, diagnostics: pd.DataFrame, p: Parameters, grid,
                    codes: np.ndarray):
    """Ecoregion polygons with, per term, the P and SM estimates, quadrant and cluster, the
    status (and why an ecoregion was skipped or failed) and the ``converged`` flag."""
    import geopandas

    from ..ecoregions import read_ecoregion_polygons

    if p.ecoregions:
        polygons = read_ecoregion_polygons(p.ecoregions, p.field or "BIOME")
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
    frame["status"] = [str(status["status"].get(code, "not in grid"))
                       for code in frame["ecoregion"]]
    frame["reason"] = [str(status["reason"].get(code, "") or "") for code in frame["ecoregion"]]
    frame["converged"] = [bool(status["converged"].get(code, False)) for code in frame["ecoregion"]]
    for term, rows in points.groupby("term", sort=False):
        stem = str(term).replace(":", "_")
        by_code = rows.set_index("ecoregion")
        for column, source in (("P", "estimate_P"), ("SM", "estimate_SM"),
                               ("quadrant", "quadrant"), ("cluster", "cluster")):
            frame[f"{stem}_{column}"] = [by_code[source].get(code) for code in frame["ecoregion"]]
    return frame


def sampler_settings(p: Parameters):
    """The sampler settings of a run's parameters, checked."""
    from ..bayes.sampling import SamplerSettings

    settings = SamplerSettings(chains=p.chains, tune=p.tune, draws=p.draws,
                               max_treedepth=p.max_treedepth, target_accept=p.target_accept,
                               seed=p.seed, sampler=p.sampler,
                               random_intercepts=p.random_intercepts,
                               mass_matrix=p.mass_matrix)
    settings.validate()
    return settings


@engine_step(Parameters, OUTPUTS)
def bayesian_drivers(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Fit every ecoregion of one soil layer; write the table, layer, figure and report."""
    return fit_and_write(p, outputs, report)


def fit_and_write(p: Parameters, outputs: StepOutputs, report: Reporter, sampler=None) -> dict:
    """The body of ``bayesian_drivers``; ``sampler`` (a ``bayes.sampling.DriverSampler`` with
    these parameters' settings) lets several runs share its compiled models
    (``bayesian_drivers_layers``)."""
    from ..bayes.drivers import fit_ecoregions
    from ..bayes.quadrants import driver_points
    from ..bayes.report import driver_figure, figure_png, write_report
    from ..bayes.sampling import DriverSampler
    from ..bayes.summary import coefficient_table, diagnostics_table

    infos = open_stacks(p, list(STACKS))
    first = infos["precipitation"]
    grid = first.grid
    codes = ecoregion_codes(p, grid)
    sampler = sampler or DriverSampler(sampler_settings(p))
    settings = sampler.settings
    steps = season_time_steps(first, p.season)
    stacks = {key: read_stack(info, time=steps) for key, info in infos.items()}
    blocks = ecoregion_blocks(stacks, codes)
    if not blocks:
        raise InputError("no ecoregion code (> 0) lies on the stacks' grid")
    report.info(f"{len(blocks)} ecoregions, DATA={p.data}, {settings.chains} chains × "
                f"({settings.tune} warm-up + {settings.draws} draws), sampler {settings.sampler}"
                + (f", {p.random_intercepts} random intercepts" if p.data == "cells" else ""))
    sampling = report.sub(0.0, 0.9)
    fits = fit_ecoregions(blocks, data=p.data, max_cells=p.max_cells, sampler=sampler,
                          progress=lambda where: sampling.progress(where.fraction),
                          log=report.info)
    coefficients = coefficient_table(fits)
    diagnostics = diagnostics_table(fits)
    names = {code: ecoregion_label(code) for code in blocks}
    skipped = diagnostics[diagnostics["status"] != "fitted"]
    reasons = [f"{names.get(row['ecoregion'], row['ecoregion'])} {row['status']}: "
               f"{row['reason']}" for _, row in skipped.iterrows()]
    if len(skipped) == len(diagnostics):
        message = (f"no ecoregion could be fitted ({len(diagnostics)} on the grid): "
                   + "; ".join(reasons))
        if not (skipped["status"] == "skipped").all():
            raise SoilpError(message)
        # too little data in every ecoregion (a short scale or season): say so and go on, with
        # tables that have their header, so that a model running every scale goes on
        report.warning(message)
        reasons = []
    drivers = driver_points(coefficients, p.n_clusters, seed=settings.seed)
    negative = drivers.points[drivers.points["negative_dependence"]]
    if len(negative):
        report.info("drivers of negative dependence (quadrants II and IV): " + "; ".join(
            f"{names.get(e, e)}: {', '.join(group['term'])}"
            for e, group in negative.groupby("ecoregion")))

    results: dict = {"ECOREGIONS_FITTED": int((diagnostics["status"] == "fitted").sum()),
                     "ECOREGIONS_CONVERGED": int(diagnostics["converged"].sum())}
    table = coefficients.assign(ecoregion_name=[names.get(e, str(e))
                                                for e in coefficients["ecoregion"]])
    results.update(outputs.csv("output_table", table.to_dict("records"), list(table.columns)))
    title = (f"Bayesian drivers of the precipitation–soil moisture dependence "
             f"({Path(infos['soil_moisture'].path).stem}, {first.time_scale}"
             + (f", {p.season})" if p.season != "all" else ")"))
    figure = driver_figure(drivers, title)
    if outputs.given("output_figure"):
        outputs.path("output_figure").write_bytes(figure_png(figure))
        results["OUTPUT_FIGURE"] = outputs.final("output_figure")
    if outputs.given("output_report"):
        write_report(outputs.path("output_report"), diagnostics.assign(
            ecoregion=[names.get(e, str(e)) for e in diagnostics["ecoregion"]]),
            drivers, figure, title=title,
            settings={"DATA": p.data, "chains": settings.chains, "tune": settings.tune,
                      "draws": settings.draws, "max_treedepth": settings.max_treedepth,
                      "target_accept": settings.target_accept, "seed": settings.seed,
                      "sampler": settings.sampler, "mass matrix": settings.mass_matrix,
                      **({"random intercepts": settings.random_intercepts}
                         if p.data == "cells" else {})})
        results["OUTPUT_REPORT"] = outputs.final("output_report")
    if outputs.given("output_layer"):
        frame = ecoregion_layer(drivers.points, diagnostics, p, grid, codes)
        # the layer is named after its file, so the layers of several runs stay apart
        write_geopackage(frame, outputs.path("output_layer"),
                         Path(outputs.final("output_layer")).stem)
        results["OUTPUT_LAYER"] = outputs.final("output_layer")
    for reason in reasons:
        report.warning(f"ecoregion {reason}")
    return results
