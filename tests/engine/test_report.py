"""The dependence report on a real output folder made by the analysis steps on a small synthetic
world: its numbers against the GeoTIFFs they come from (read here with rasterio), its figures
(exist, decode, not blank; colours as the colour scale says), sections whose files are missing,
a broken file, and the provenance checksums against hashlib (the Bayesian section has its own
test_report_bayes.py)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import rasterio

from soilp_qgis.errors import InputError
from soilp_qgis.protocol import SilentReporter
from soilp_qgis.report import make_report, write_provenance
from soilp_qgis.report.figures import MapRaster, MapRow, map_grid_figure, outline_segments
from soilp_qgis.steps.aggregate_time import aggregate_time
from soilp_qgis.steps.copula_dependence import copula_dependence
from soilp_qgis.steps.lagged_dependence import lagged_dependence
from soilp_qgis.steps.report import report
from soilp_qgis.steps.ridge_control import ridge_control
from soilp_qgis.steps.synthetic_world import synthetic_world
from soilp_qgis.tables import biome_names
from soilp_qgis.timestack import Grid

LAYER_FILES = {"layer1": "soil_moisture_0_7cm.tif", "layer2": "soil_moisture_7_28cm.tif",
               "layer3": "soil_moisture_28_100cm.tif"}
SCALES = ("monthly", "annual")
SHARE_TEXT = re.compile(r"^(\d+\.\d) % of ([\d,]+) cells?$")
CLASS_CODES = {"frequency": 2, "volume": 1, "evapotranspiration": 3, "mixed": 0}


# ------------------------------------------------------------------------------------ helpers

class PageParser(HTMLParser):
    """Tables (by id: rows of cell texts), elements' text by id, image sources, paragraphs."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.by_id: dict[str, str] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.paragraphs: list[tuple[str, str]] = []
        self._table = None
        self._cell = None
        self._open_ids: list[tuple[str, str, list[str]]] = []
        self._paragraph = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "p":
            self._paragraph = (attrs.get("class") or "", [])
        if attrs.get("id") and tag != "table":
            self._open_ids.append((tag, attrs["id"], []))

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append((self._paragraph[0], "".join(self._paragraph[1]).strip()))
            self._paragraph = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, element_id, parts = self._open_ids.pop()
            self.by_id[element_id] = "".join(parts).strip()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._paragraph is not None:
            self._paragraph[1].append(data)
        for _, _, parts in self._open_ids:
            parts.append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def read_band(path: Path, band: int = 1) -> np.ndarray:
    """A band with nodata as NaN, read with rasterio directly."""
    with rasterio.open(path) as src:
        values = src.read(band).astype(float)
        if src.nodata is not None:
            values[values == src.nodata] = np.nan
    return values


def parse_share(text: str) -> tuple[float, int]:
    match = SHARE_TEXT.match(text)
    assert match, f"not a share text: {text!r}"
    return float(match.group(1)), int(match.group(2).replace(",", ""))


def assert_share_text(text: str, expected_share: float, expected_cells: int) -> None:
    percent, cells = parse_share(text)
    assert cells == expected_cells
    assert abs(percent - 100.0 * expected_share) <= 0.05 + 1e-9, (text, expected_share)


# ------------------------------------------------------------------------------------ fixture

@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """A small world run through the real steps into a folder laid out as docs/OUTPUTS.md."""
    base = tmp_path_factory.mktemp("report")
    world, out = base / "world", base / "out"
    inputs = out / "inputs"
    quiet = SilentReporter()
    synthetic_world({"output_folder": str(world), "extent": [-30, 20, 30, 60], "resolution": 4,
                     "start_year": 2000, "end_year": 2005, "seed": 3}, quiet)
    daily = str(world / "precipitation_daily.tif")
    for scale in SCALES:
        aggregate_time({"input": daily, "scale": scale, "statistic": "sum", "processes": 1,
                        "output": str(inputs / f"precipitation_volume_{scale}.tif")}, quiet)
    aggregate_time({"input": daily, "scale": "monthly", "statistic": "wet_day_count",
                    "processes": 1, "output": str(inputs / "precipitation_frequency_monthly.tif")},
                   quiet)
    for layer, name in LAYER_FILES.items():
        aggregate_time({"input": str(world / name), "scale": "annual", "statistic": "mean",
                        "processes": 1,
                        "output": str(inputs / f"soil_moisture_{layer}_annual.tif")}, quiet)
    ecoregions = str(world / "ecoregions.tif")
    for layer, name in LAYER_FILES.items():
        for scale in SCALES:
            soil = (str(world / name) if scale == "monthly"
                    else str(inputs / f"soil_moisture_{layer}_annual.tif"))
            prefix = out / "copula" / f"{layer}_{scale}"
            copula_dependence({
                "precipitation": str(inputs / f"precipitation_volume_{scale}.tif"),
                "soil_moisture": soil, "family_set": "one_parameter", "min_observations": 5,
                "ecoregions_raster": ecoregions, "processes": 1,
                "output_tau": f"{prefix}_tau.tif", "output_lower_tail": f"{prefix}_lower_tail.tif",
                "output_upper_tail": f"{prefix}_upper_tail.tif",
                "output_table": f"{prefix}_table.csv"}, quiet)
    for layer in ("layer1", "layer2"):
        lagged_dependence({
            "precipitation": str(inputs / "precipitation_volume_monthly.tif"),
            "soil_moisture": str(world / LAYER_FILES[layer]), "max_lag": 6, "processes": 1,
            "output_tau_by_lag": str(out / "lag" / f"{layer}_tau_by_lag.tif"),
            "output_optimal_lag": str(out / "lag" / f"{layer}_optimal_lag.tif"),
            "output_tau_at_optimal_lag": str(out / "lag" / f"{layer}_tau_at_optimal_lag.tif")},
            quiet)
    for period in ("monthly", "JJA", "DJF"):
        prefix = out / "ridge" / f"layer1_{period}"
        ridge_control({
            "soil_moisture": str(world / LAYER_FILES["layer1"]),
            "precip_frequency": str(inputs / "precipitation_frequency_monthly.tif"),
            "precip_volume": str(inputs / "precipitation_volume_monthly.tif"),
            "evapotranspiration": str(world / "evapotranspiration.tif"),
            "air_temperature": str(world / "air_temperature.tif"),
            "season": "all" if period == "monthly" else period, "alpha": 1.0, "processes": 1,
            "ecoregions_raster": ecoregions, "output_rgb": f"{prefix}_rgb.tif",
            "output_dominant": f"{prefix}_dominant.tif",
            "output_table": f"{prefix}_table.csv"}, quiet)
    provenance_inputs = {"precipitation": daily,
                         "soil_moisture_layer1": str(world / LAYER_FILES["layer1"]),
                         "ecoregions": str(world / "ecoregion_polygons.gpkg")}
    write_provenance(out, provenance_inputs, {"family_set": "one_parameter", "max_lag": 6})
    result = report({"input_folder": str(out), "ecoregions_raster": ecoregions,
                     "title": "Small world"}, quiet)
    return {"world": world, "out": out, "html": Path(result["OUTPUT_HTML"]), "result": result,
            "page": parse(Path(result["OUTPUT_HTML"])), "provenance_inputs": provenance_inputs}


# ------------------------------------------------------------------------------------ tests

def test_negative_shares_equal_the_share_of_negative_tau_in_the_rasters(analysis):
    page, out = analysis["page"], analysis["out"]
    negatives = 0
    for layer in LAYER_FILES:
        for scale in SCALES:
            tau = read_band(out / "copula" / f"{layer}_{scale}_tau.tif")
            finite = np.isfinite(tau)
            share = float((tau[finite] < 0).mean())
            negatives += int((tau[finite] < 0).sum())
            assert_share_text(page.by_id[f"negative-share-{layer}-{scale}"], share,
                              int(finite.sum()))
    assert negatives > 0  # the check compares something other than zeros
    assert analysis["result"]["SECTIONS"]["negative-dependence"] == "made"
    assert not any(cls == "warning" for cls, _ in page.paragraphs)


def test_negative_shares_per_ecoregion_equal_the_rasters(analysis):
    page, out, world = analysis["page"], analysis["out"], analysis["world"]
    codes = read_band(world / "ecoregions.tif")
    table = page.tables["negative-share-by-ecoregion"]
    header, rows = table[0], {row[0]: row[1:] for row in table[1:]}
    names = biome_names()
    checked = 0
    for column, title in enumerate(header[1:]):
        layer = "layer" + re.search(r"Layer (\d)", title).group(1)
        scale = title.rsplit(", ", 1)[1]
        tau = read_band(out / "copula" / f"{layer}_{scale}_tau.tif")
        for code in np.unique(codes[np.isfinite(codes) & (codes > 0)]):
            in_region = np.isfinite(tau) & (codes == code)
            if not in_region.any():
                continue
            text = rows[f"{int(code)} {names[int(code)]}"][column]
            assert_share_text(text, float((tau[in_region] < 0).mean()), int(in_region.sum()))
            checked += 1
    assert checked >= 6 * 5


def test_every_referenced_figure_exists_decodes_and_is_not_blank(analysis):
    page, html = analysis["page"], analysis["html"]
    expected = {"report_dependence_monthly.png", "report_dependence_annual.png",
                "report_negative_share.png", "report_optimal_lag.png",
                "report_optimal_lag_histogram.png", "report_ridge_layer1_monthly.png",
                "report_ridge_layer1_seasons.png", "report_ridge_layer1_shares.png",
                "ridge/layer1_monthly_rgb_legend.png", "ridge/layer1_JJA_rgb_legend.png",
                "ridge/layer1_DJF_rgb_legend.png"}
    assert expected <= set(page.images)
    for source in page.images:
        path = html.parent / source
        assert path.is_file(), source
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, source
        colours = np.unique(image[..., :3].reshape(-1, 3), axis=0)
        assert len(colours) > 20, f"{source} is (nearly) one colour"
    assert sorted(analysis["result"]["FIGURES"]) == sorted(
        str(html.parent / s) for s in page.images if s.startswith("report_"))


def test_map_colours_follow_the_raster_values(tmp_path):
    """Left half τ = −0.8 (red in RdBu), right half +0.8 (blue): in the PNG the map's red
    columns lie left of its blue ones (the colour bar holds both colours in its columns)."""
    grid = Grid.regular(0.0, 10.0, 1.0, 20, 10)
    tau = np.where(np.arange(20) < 10, -0.8, 0.8)[None, :].repeat(10, axis=0)
    tau[0] = np.nan
    path = map_grid_figure(tmp_path / "map.png", [MapRow("τ", "RdBu", -1.0, 1.0)], ["layer"],
                           {(0, 0): MapRaster(tau, grid)})
    image = matplotlib.image.imread(path)[..., :3]
    reds = ((image[..., 0] > 0.55) & (image[..., 2] < 0.35)).any(axis=0)
    blues = ((image[..., 2] > 0.55) & (image[..., 0] < 0.35)).any(axis=0)
    red_only, blue_only = np.flatnonzero(reds & ~blues), np.flatnonzero(blues & ~reds)
    assert red_only.size > 100 and blue_only.size > 100
    assert red_only.max() < blue_only.min()
    assert abs(red_only.size - blue_only.size) <= 3  # two equal halves


def test_outline_is_the_boundary_of_the_cells():
    transform = Grid.regular(10.0, 50.0, 2.0, 3, 2).transform
    single = np.zeros((2, 3), dtype=bool)
    single[1, 2] = True  # the cell x 14–16, y 46–48
    segments = outline_segments(single, transform)
    assert {tuple(sorted(map(tuple, s))) for s in segments.tolist()} == {
        ((14.0, 46.0), (16.0, 46.0)), ((14.0, 48.0), (16.0, 48.0)),
        ((14.0, 46.0), (14.0, 48.0)), ((16.0, 46.0), (16.0, 48.0))}
    rng = np.random.default_rng(1)
    mask = rng.random((12, 15)) < 0.5
    # perimeter in cell edges = 4 × cells − 2 × shared edges
    shared = (mask[1:] & mask[:-1]).sum() + (mask[:, 1:] & mask[:, :-1]).sum()
    segments = outline_segments(mask, transform)
    assert len(segments) == 4 * mask.sum() - 2 * shared
    lengths = np.hypot(*(segments[:, 1] - segments[:, 0]).T)
    np.testing.assert_allclose(lengths, 2.0)


def test_class_shares_equal_the_dominant_rasters(analysis):
    page, out = analysis["page"], analysis["out"]
    for period in ("monthly", "JJA", "DJF"):
        dominant = read_band(out / "ridge" / f"layer1_{period}_dominant.tif")
        valid = np.isfinite(dominant)
        for name, code in CLASS_CODES.items():
            assert_share_text(page.by_id[f"ridge-layer1-{period}-{name}"],
                              float((dominant[valid] == code).mean()), int(valid.sum()))


def test_lag_summary_equals_the_optimal_lag_raster(analysis):
    page, out = analysis["page"], analysis["out"]
    rows = {row[0]: row for row in page.tables["optimal-lag-summary"][1:]}
    for layer, label in (("layer1", "Layer 1 (0–7 cm)"), ("layer2", "Layer 2 (7–28 cm)")):
        lag = read_band(out / "lag" / f"{layer}_optimal_lag.tif")
        lag = lag[np.isfinite(lag)].astype(int)
        counts = np.bincount(lag)
        mode = int(counts.argmax())
        assert rows[label][1] == f"{lag.size:,}"
        assert rows[label][2].startswith(f"{mode} month")
        assert f"({100 * counts[mode] / lag.size:.1f} %)" in rows[label][2]
    assert "No optimal-lag map for Layer 3 (28–100 cm)." in dict(
        (text, cls) for cls, text in page.paragraphs)


def test_missing_files_are_announced_in_one_line_each(analysis):
    page = analysis["page"]
    missing = [text for cls, text in page.paragraphs if cls == "missing"]
    assert any(text.startswith("No Bayesian driver results in this folder") for text in missing)
    assert any(text.startswith("No annual composite for Layer 1") for text in missing)
    assert analysis["result"]["SECTIONS"] == {
        "dependence-maps": "made", "negative-dependence": "made", "significance": "made",
        "optimal-lag": "made", "ternary": "made", "bayesian-drivers": "missing",
        "provenance": "made"}


def test_an_empty_folder_gives_a_page_of_missing_sections(tmp_path):
    result = make_report(tmp_path, tmp_path / "report.html")
    assert set(result.sections.values()) == {"missing"} and result.figures == []
    page = parse(result.html)
    missing = [text for cls, text in page.paragraphs if cls == "missing"]
    assert len(missing) == 7
    assert missing[0].startswith("No copula maps in this folder")
    assert missing[-1].startswith("No provenance.json in this folder")


def test_a_subset_and_a_broken_file(analysis, tmp_path):
    """Only layer 2's monthly τ (no table): its share comes from the raster; a broken λL file
    fails its section in one line while the rest of the page is made."""
    out = analysis["out"]
    (tmp_path / "copula").mkdir()
    shutil.copy(out / "copula" / "layer2_monthly_tau.tif", tmp_path / "copula")
    (tmp_path / "copula" / "layer2_monthly_lower_tail.tif").write_bytes(b"not a GeoTIFF")
    result = make_report(tmp_path, tmp_path / "sub" / "page.html")
    page = parse(result.html)
    assert result.sections["dependence-maps"] == "failed"
    assert result.sections["negative-dependence"] == "made"
    tau = read_band(out / "copula" / "layer2_monthly_tau.tif")
    finite = np.isfinite(tau)
    assert_share_text(page.by_id["negative-share-layer2-monthly"],
                      float((tau[finite] < 0).mean()), int(finite.sum()))
    assert any("copula/layer2_monthly_table.csv missing: computed from the τ raster" in text
               for _, text in page.paragraphs)
    warnings = [text for cls, text in page.paragraphs if cls == "warning"]
    assert len(warnings) == 1 and "layer2_monthly_lower_tail.tif" in warnings[0]
    for source in page.images:  # the page lives in sub/: figures beside it
        assert (result.html.parent / source).is_file()


def test_provenance_checksums_equal_hashlib_and_show_in_the_page(analysis):
    out, page = analysis["out"], analysis["page"]
    document = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    for name, path in analysis["provenance_inputs"].items():
        expected = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        entry = document["inputs"][name]
        assert entry["sha256"] == expected
        assert entry["size_bytes"] == Path(path).stat().st_size
    precipitation = document["inputs"]["precipitation"]["time_range"]
    assert precipitation == {"first": "2000-01-01", "last": "2005-12-31", "steps": 2192,
                             "time_scale": "daily"}
    assert document["libraries"]["numpy"] == np.__version__
    assert document["libraries"]["rasterio"] == metadata.version("rasterio")
    assert document["parameters"] == {"family_set": "one_parameter", "max_lag": 6}
    inputs_table = {row[0]: row for row in page.tables["provenance-inputs"][1:]}
    for name in analysis["provenance_inputs"]:
        assert inputs_table[name][5] == document["inputs"][name]["sha256"]


def test_provenance_step_through_the_cli(tmp_path, analysis):
    source = analysis["world"] / "air_temperature.tif"
    completed = subprocess.run(
        [sys.executable, "-m", "soilp_qgis", "provenance", f"output_folder={tmp_path}",
         "inputs=" + json.dumps({"air_temperature": str(source),
                                 "gone": str(tmp_path / "nowhere.tif")}),
         "parameters=" + json.dumps({"SEED": 0, "BAYES_CHAINS": "2"})],
        capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "inputs not found, recorded without checksum: gone" in completed.stdout
    document = json.loads((tmp_path / "provenance.json").read_text(encoding="utf-8"))
    assert document["inputs"]["air_temperature"]["sha256"] == hashlib.sha256(
        source.read_bytes()).hexdigest()
    assert document["inputs"]["gone"]["exists"] is False
    assert document["parameters"] == {"SEED": 0, "BAYES_CHAINS": "2"}


def test_report_step_refuses_a_folder_that_is_not_there(tmp_path):
    with pytest.raises(InputError, match="INPUT_FOLDER .* is not a folder"):
        report({"input_folder": str(tmp_path / "nothing")}, SilentReporter())
    with pytest.raises(InputError, match="INPUT_FOLDER is required"):
        report({}, SilentReporter())


def test_recording_provenance_does_not_load_the_report_builder():
    """Every engine step records its provenance through ``report.provenance``; the report's
    figures and tests (matplotlib, scipy.stats) load only when a report is made."""
    code = ("import sys, soilp_qgis.report.provenance as p; "
            "print(sorted(m for m in ('matplotlib', 'scipy.stats', 'soilp_qgis.report.build') "
            "if m in sys.modules)); from soilp_qgis.report import make_report; "
            "print(make_report.__module__)")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert lines == ["[]", "soilp_qgis.report.build"]
