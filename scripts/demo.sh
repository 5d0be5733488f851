#!/usr/bin/env bash
# make demo: the whole analysis on the built-in synthetic world, headless, into demo_output/.
#
# 1. soilp:syntheticworld writes the default study area (2° Northern Hemisphere, 2000–2019);
# 2. the engine records the run's provenance (inputs with checksums, parameters, versions);
# 3. soilp:fullanalysis (the shipped model) runs every step and ends with demo_output/report.html.
# The Bayesian step (3 soil layers × monthly and annual) samples at the paper's settings, 4 chains ×
# (2000 warm-up + 2000 draws), max tree depth 10, on the toolbox's data default (DATA=cells, up to
# 200 cells per ecoregion, per-cell random intercepts), with the algorithm's defaults for the
# sampler's geometry: intercepts integrated out, nutpie's low-rank metric (measured: about 2 s per
# ecoregion, almost no divergent transitions; soilp_qgis/bayes/sampling.py, SamplerSettings).
set -euo pipefail
: "${QGIS_PROCESS:?}" "${SOILP_PYTHON:?}"
out=${DEMO_OUTPUT:-demo_output}
world=$out/world
mkdir -p "$out"
out=$(cd "$out" && pwd)
world=$out/world
started=$(date +%s)

step() { printf '\n== %s ==\n' "$1"; }

step "1/3 synthetic world (2° Northern Hemisphere, 2000–2019)"
"$QGIS_PROCESS" run soilp:syntheticworld -- OUTPUT_FOLDER="$world" SEED=0

bayes=(BAYES_CHAINS=${BAYES_CHAINS:-4} BAYES_TUNE=${BAYES_TUNE:-2000} BAYES_DRAWS=${BAYES_DRAWS:-2000}
       BAYES_MAX_CELLS=${BAYES_MAX_CELLS:-200})
inputs=(PRECIPITATION="$world/precipitation_daily.tif"
        SOIL_MOISTURE_LAYER1="$world/soil_moisture_0_7cm.tif"
        SOIL_MOISTURE_LAYER2="$world/soil_moisture_7_28cm.tif"
        SOIL_MOISTURE_LAYER3="$world/soil_moisture_28_100cm.tif"
        EVAPOTRANSPIRATION="$world/evapotranspiration.tif"
        AIR_TEMPERATURE="$world/air_temperature.tif"
        LAND_SURFACE_TEMPERATURE="$world/land_surface_temperature.tif"
        GPP="$world/gross_primary_production.tif"
        ECOREGIONS="$world/ecoregion_polygons.gpkg")

step "2/3 provenance"
"$SOILP_PYTHON" - "$out" "${inputs[@]}" "${bayes[@]}" <<'PY'
import json, subprocess, sys
folder, *pairs = sys.argv[1:]
values = dict(pair.split("=", 1) for pair in pairs)
inputs = {k: v for k, v in values.items() if not k.startswith("BAYES_")}
parameters = {k: v for k, v in values.items() if k.startswith("BAYES_")}
paper = (parameters["BAYES_CHAINS"], parameters["BAYES_TUNE"], parameters["BAYES_DRAWS"]) == \
    ("4", "2000", "2000")
parameters.update({"Bayesian step in this demo": (
                       ("the paper's sampler settings:" if paper else
                        "LIGHTER than the paper's 4 chains × (2000 warm-up + 2000 draws):")
                       + " {BAYES_CHAINS} chains × ({BAYES_TUNE} warm-up + {BAYES_DRAWS} draws), "
                       "max tree depth 10, for each soil layer at monthly and annual scale, on "
                       "DATA=cells (per-cell random intercepts) with a seeded sample of at most "
                       "{BAYES_MAX_CELLS} cells per ecoregion; the intercepts integrated out "
                       "exactly and nutpie's low-rank mass matrix (the algorithm's defaults; "
                       "the same posterior as sampling them)").format(**parameters),
                   "synthetic world": "2° Northern Hemisphere, 2000–2019, seed 0",
                   "FAMILY_SET": "all 40 VineCopula families", "FIELD": "BIOME"})
subprocess.run([sys.executable, "-m", "soilp_qgis", "provenance", f"output_folder={folder}",
                "inputs=" + json.dumps(inputs), "parameters=" + json.dumps(parameters)], check=True)
PY

step "3/3 full analysis (soilp:fullanalysis) and report"
"$QGIS_PROCESS" run soilp:fullanalysis -- "${inputs[@]}" FIELD=BIOME OUTPUT_FOLDER="$out" "${bayes[@]}"

minutes=$(( ($(date +%s) - started + 59) / 60 ))
printf '\nDone in about %d min: open %s/report.html\n' "$minutes" "$out"
