"""The 40 bivariate copula families of R VineCopula's ``BiCopSelect`` and their pyvinecopulib twins.

Families are named by their VineCopula code (``resources/copula_families.json``) so that outputs
compare with R studies. Parameters are kept in **VineCopula's convention**:

- ``par``, ``par2`` as ``BiCop(family, par, par2)``; ``par2 = 0`` for one-parameter families and
  ``par = par2 = 0`` for independence;
- 90° and 270° rotations (codes 23–40, 124, 134, 224, 234) carry their parameters negated, except
  Tawn, where only θ (``par``) is negated and δ (``par2``) stays in [0, 1];
- Tawn type 1 (104…134) is pyvinecopulib's ``tawn`` with ψ1 = δ, ψ2 = 1; type 2 (204…234) has
  ψ1 = 1, ψ2 = δ. pyvinecopulib's rotation by 90° evaluates the unrotated density at
  (u2, 1 − u1), which for Tawn amounts to swapping ψ1 and ψ2; VineCopula's rotated Tawn codes make
  the same swap, so the ψ assignment above holds for every rotation.

pyvinecopulib keeps parameters positive and states the rotation separately; ``to_pyvinecopulib``
and ``from_pyvinecopulib`` translate in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import tables
from ..errors import InputError

#: VineCopula code of each unrotated family
INDEPENDENCE, GAUSSIAN, STUDENT, CLAYTON, GUMBEL, FRANK, JOE = 0, 1, 2, 3, 4, 5, 6
BB1, BB6, BB7, BB8, TAWN_TYPE1, TAWN_TYPE2 = 7, 8, 9, 10, 104, 204

#: code offset of each rotation (VineCopula: +10 survival, +20 rotated 90°, +30 rotated 270°)
ROTATION_OFFSET = {0: 0, 180: 10, 90: 20, 270: 30}

#: families that VineCopula does not rotate (they cover both signs of dependence themselves)
UNROTATED = (INDEPENDENCE, GAUSSIAN, STUDENT, FRANK)
ROTATED_BASES = (CLAYTON, GUMBEL, JOE, BB1, BB6, BB7, BB8, TAWN_TYPE1, TAWN_TYPE2)


@dataclass(frozen=True)
class CopulaFamily:
    """One VineCopula family code (a row of ``resources/copula_families.json``)."""

    code: int
    name: str
    label: str
    family: str
    rotation: int
    parameters: int
    pyvinecopulib: str
    color: str

    @property
    def base_code(self) -> int:
        """Code of the unrotated family (23 → 3, 134 → 104)."""
        return self.code - ROTATION_OFFSET[self.rotation]


@lru_cache(maxsize=None)
def family_table() -> dict[int, CopulaFamily]:
    """Every VineCopula code of the analysis → its ``CopulaFamily``."""
    table = {}
    for row in tables.copula_families():
        family = CopulaFamily(code=int(row["code"]), name=row["name"], label=row["label"],
                              family=row["family"], rotation=int(row["rotation"]),
                              parameters=int(row["parameters"]), pyvinecopulib=row["pyvinecopulib"],
                              color=row["color"])
        table[family.code] = family
    return table


#: the 40 codes, ascending
ALL_CODES: tuple[int, ...] = (
    tuple(range(0, 11)) + (13, 14) + tuple(range(16, 21)) + (23, 24) + tuple(range(26, 31))
    + (33, 34) + tuple(range(36, 41)) + (104, 114, 124, 134, 204, 214, 224, 234))


def _with_rotations(bases: tuple[int, ...]) -> tuple[int, ...]:
    codes = []
    for base in bases:
        offsets = (0,) if base in UNROTATED else tuple(ROTATION_OFFSET.values())
        codes.extend(base + offset for offset in offsets)
    return tuple(sorted(codes))


#: Family sets a user can choose. Independence (0) is in every set: a cell whose data show no
#: dependence that is worth a parameter gets τ = 0 instead of a forced fit, as in VineCopula's
#: ``BiCopSelect(familyset = NA)`` and pyvinecopulib's defaults. Every set holds families of
#: both signs of dependence (Gaussian, t and Frank cover negative τ unrotated; the others through
#: their 90°/270° rotations), so no cell fails for lack of a family of the data's sign.
FAMILY_SETS: dict[str, tuple[int, ...]] = {
    "all": ALL_CODES,
    "one_parameter": _with_rotations((INDEPENDENCE, GAUSSIAN, CLAYTON, GUMBEL, FRANK, JOE)),
    "gaussian_t": (INDEPENDENCE, GAUSSIAN, STUDENT),
}


def family_set(name: str) -> tuple[int, ...]:
    """VineCopula codes of a named family set (``all``, ``one_parameter``, ``gaussian_t``)."""
    key = str(name).strip().lower()
    if key not in FAMILY_SETS:
        raise InputError(f"FAMILY_SET {name!r} is not one of {', '.join(FAMILY_SETS)}")
    return FAMILY_SETS[key]


def split_codes(codes) -> tuple[np.ndarray, np.ndarray]:
    """Unrotated family code and rotation (0, 90, 180, 270) of each code; −1, −1 if unknown."""
    codes = np.asarray(codes, dtype=np.int64)
    base = np.full(codes.shape, -1, dtype=np.int64)
    rotation = np.full(codes.shape, -1, dtype=np.int64)
    for b in UNROTATED:
        hit = codes == b
        base[hit], rotation[hit] = b, 0
    for b in ROTATED_BASES:
        for rot, offset in ROTATION_OFFSET.items():
            hit = codes == b + offset
            base[hit], rotation[hit] = b, rot
    return base, rotation


#: pyvinecopulib family name of each unrotated VineCopula family
PYVINECOPULIB_NAME = {INDEPENDENCE: "indep", GAUSSIAN: "gaussian", STUDENT: "student",
                      CLAYTON: "clayton", GUMBEL: "gumbel", FRANK: "frank", JOE: "joe",
                      BB1: "bb1", BB6: "bb6", BB7: "bb7", BB8: "bb8", TAWN_TYPE1: "tawn",
                      TAWN_TYPE2: "tawn"}
_BASE_BY_PV_NAME = {name: code for code, name in PYVINECOPULIB_NAME.items() if name != "tawn"}


def _check_code(code: int) -> tuple[int, int]:
    base, rotation = split_codes(np.asarray([code]))
    if base[0] < 0:
        raise ValueError(f"{code!r} is not one of the 40 VineCopula family codes")
    return int(base[0]), int(rotation[0])


def to_pyvinecopulib(code: int, par: float = 0.0, par2: float = 0.0) -> tuple[str, int, np.ndarray]:
    """pyvinecopulib ``(family name, rotation, parameters)`` of a VineCopula ``(code, par, par2)``.

    ``parameters`` is the 1-D parameter vector in pyvinecopulib's order and signs (all positive for
    rotated families; Tawn: ``[ψ1, ψ2, θ]``).
    """
    base, rotation = _check_code(code)
    negated = rotation in (90, 270)
    if base == INDEPENDENCE:
        parameters = np.zeros(0)
    elif base in (GAUSSIAN, CLAYTON, GUMBEL, FRANK, JOE):
        parameters = np.array([-par if negated else par], dtype=float)
    elif base in (STUDENT, BB1, BB6, BB7, BB8):
        sign = -1.0 if negated else 1.0
        parameters = np.array([sign * par, sign * par2], dtype=float)
    else:  # Tawn: only θ is negated for 90°/270°
        theta = -par if negated else par
        psi = (par2, 1.0) if base == TAWN_TYPE1 else (1.0, par2)
        parameters = np.array([psi[0], psi[1], theta], dtype=float)
    return PYVINECOPULIB_NAME[base], rotation, parameters


def from_pyvinecopulib(family: str, rotation: int, parameters) -> tuple[int, float, float]:
    """VineCopula ``(code, par, par2)`` of a pyvinecopulib ``(family name, rotation, parameters)``.

    A pyvinecopulib Tawn with neither ψ equal to 1 (or a TLL) has no VineCopula code: ValueError.
    """
    name = str(family).lower().replace("bicopfamily.", "")
    rotation = int(rotation)
    parameters = np.asarray(parameters, dtype=float).reshape(-1)
    if rotation not in ROTATION_OFFSET:
        raise ValueError(f"rotation {rotation} is not 0, 90, 180 or 270")
    sign = -1.0 if rotation in (90, 270) else 1.0
    if name == "tawn":
        psi1, psi2, theta = parameters
        if psi2 == 1.0:
            base, delta = TAWN_TYPE1, psi1
        elif psi1 == 1.0:
            base, delta = TAWN_TYPE2, psi2
        else:
            raise ValueError("a Tawn copula with neither psi equal to 1 has no VineCopula code")
        return base + ROTATION_OFFSET[rotation], float(sign * theta), float(delta)
    if name not in _BASE_BY_PV_NAME:
        raise ValueError(f"pyvinecopulib family {family!r} has no VineCopula code")
    base = _BASE_BY_PV_NAME[name]
    if base in UNROTATED:
        if rotation != 0:
            raise ValueError(f"{name} is not rotated in VineCopula (rotation {rotation})")
        sign = 1.0
    par = float(sign * parameters[0]) if parameters.size >= 1 else 0.0
    par2 = float(sign * parameters[1]) if parameters.size >= 2 else 0.0
    return base + ROTATION_OFFSET[rotation], par, par2


def to_bicop(code: int, par: float = 0.0, par2: float = 0.0):
    """A ``pyvinecopulib.Bicop`` for a VineCopula ``(code, par, par2)``."""
    import pyvinecopulib as pv

    name, rotation, parameters = to_pyvinecopulib(code, par, par2)
    family = getattr(pv.BicopFamily, name)
    if parameters.size == 0:
        return pv.Bicop(family)
    return pv.Bicop(family, rotation, parameters.reshape(-1, 1))


def from_bicop(bicop) -> tuple[int, float, float]:
    """VineCopula ``(code, par, par2)`` of a ``pyvinecopulib.Bicop``."""
    return from_pyvinecopulib(bicop.family.name, bicop.rotation, bicop.parameters)
