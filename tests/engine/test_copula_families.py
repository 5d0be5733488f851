"""The VineCopula family table, family sets and the VineCopula ↔ pyvinecopulib translation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from soilp_qgis.copula import families as fam
from soilp_qgis.errors import InputError

RESOURCES = Path(__file__).resolve().parents[2] / "resources"

# the spec (COPULA_FAMILIES.md): codes of R VineCopula's BiCopSelect(familyset = NA)
SPEC_CODES = ([*range(0, 11), 13, 14, *range(16, 21), 23, 24, *range(26, 31), 33, 34,
               *range(36, 41), 104, 114, 124, 134, 204, 214, 224, 234])
ONE_PARAMETER_SPEC = {0, 1, 3, 4, 5, 6, 13, 14, 16, 23, 24, 26, 33, 34, 36}
TWO_PARAMETER_BASES = {2, 7, 8, 9, 10, 104, 204}

# one parameter pair per base family in VineCopula's convention for the unrotated family
BASE_PARAMETERS = {0: (0.0, 0.0), 1: (0.6, 0.0), 2: (-0.3, 5.0), 3: (2.5, 0.0), 4: (1.8, 0.0),
                   5: (-4.0, 0.0), 6: (2.2, 0.0), 7: (0.8, 1.6), 8: (1.7, 2.1), 9: (2.4, 1.3),
                   10: (3.0, 0.7), 104: (3.5, 0.4), 204: (2.5, 0.8)}


def _base_and_rotation(code: int) -> tuple[int, int]:
    for base in (104, 204):
        for rotation, offset in ((0, 0), (180, 10), (90, 20), (270, 30)):
            if code == base + offset:
                return base, rotation
    if code <= 10:
        return code, 0
    return code % 10 or 10, {1: 180, 2: 90, 3: 270}[(code - 1) // 10]


def _vinecopula_parameters(code: int) -> tuple[float, float]:
    base, rotation = _base_and_rotation(code)
    par, par2 = BASE_PARAMETERS[base]
    if rotation in (90, 270):
        return (-par, par2) if base in (104, 204) else (-par, -par2)
    return par, par2


def test_table_lists_the_40_codes_of_the_spec_with_consistent_fields():
    raw = json.loads((RESOURCES / "copula_families.json").read_text(encoding="utf-8"))
    rows = raw["families"]
    assert [r["code"] for r in rows] == SPEC_CODES
    assert fam.ALL_CODES == tuple(SPEC_CODES)
    assert len({r["name"] for r in rows}) == 40
    assert len({r["label"] for r in rows}) == 40
    assert len({r["color"].lower() for r in rows}) == 40
    for row in rows:
        assert re.fullmatch(r"#[0-9a-fA-F]{6}", row["color"])
        base, rotation = _base_and_rotation(row["code"])
        assert row["rotation"] == rotation
        expected_count = 0 if base == 0 else 2 if base in TWO_PARAMETER_BASES else 1
        assert row["parameters"] == expected_count
        if rotation == 180:
            assert "180°" in row["name"] and "survival" in row["name"]
        elif rotation:
            assert f"{rotation}°" in row["name"]
    table = fam.family_table()
    assert table[13].name == "Clayton 180° (survival)"
    assert table[134].base_code == 104 and table[234].base_code == 204
    assert table[27].label == "BB1_90"  # VineCopula's BiCopName(27, short = TRUE)


def test_family_sets():
    assert set(fam.family_set("all")) == set(SPEC_CODES)
    assert set(fam.family_set("one_parameter")) == ONE_PARAMETER_SPEC
    assert set(fam.family_set("Gaussian_T")) == {0, 1, 2}
    with pytest.raises(InputError, match="FAMILY_SET"):
        fam.family_set("archimedean")


def test_split_codes_vectorised():
    base, rotation = fam.split_codes([3, 13, 23, 33, 124, 214, 5, -1, 11, 44])
    assert base.tolist() == [3, 3, 3, 3, 104, 204, 5, -1, -1, -1]
    assert rotation.tolist() == [0, 180, 90, 270, 90, 180, 0, -1, -1, -1]


@pytest.mark.parametrize("code", SPEC_CODES)
def test_vinecopula_sign_convention_round_trip(code):
    par, par2 = _vinecopula_parameters(code)
    name, rotation, parameters = fam.to_pyvinecopulib(code, par, par2)
    base, expected_rotation = _base_and_rotation(code)
    assert rotation == expected_rotation
    # pyvinecopulib keeps every rotated family's parameters positive
    if base not in (1, 2, 5):
        assert np.all(parameters >= 0)
    if base in (104, 204):
        theta, delta = abs(par), par2
        psi = [delta, 1.0] if base == 104 else [1.0, delta]
        assert parameters.tolist() == psi + [theta]
        assert name == "tawn"
    assert fam.from_pyvinecopulib(name, rotation, parameters) == (code, par, par2)
    bicop = fam.to_bicop(code, par, par2)
    assert fam.from_bicop(bicop) == (code, par, par2)


def test_translation_rejects_what_vinecopula_lacks():
    with pytest.raises(ValueError):
        fam.to_pyvinecopulib(11, 1.0)
    with pytest.raises(ValueError):
        fam.from_pyvinecopulib("tawn", 0, [0.5, 0.7, 2.0])  # neither psi is 1
    with pytest.raises(ValueError):
        fam.from_pyvinecopulib("gaussian", 90, [0.5])
    with pytest.raises(ValueError):
        fam.from_pyvinecopulib("tll", 0, [])
