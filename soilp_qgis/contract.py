"""The contract of an engine step: its parameters as a frozen dataclass, its outputs as a table.

A step declares

- ``Parameters``: a frozen dataclass subclassing :class:`StepParameters` whose fields are made by
  the helpers below (``stack()``, ``integer(15, minimum=3)``, ``choice(SEASONS, "all")``,
  ``raster_output()`` …). ``Parameters.from_params(params)`` fills the defaults, converts and
  checks every value and names the QGIS parameter (``MIN_OBSERVATIONS``) in each error; a key it
  does not know is refused in one line listing the known ones. Defaults live here only.
- ``OUTPUTS``: a tuple of :class:`RasterOutput` (parameter, array, dtype, nodata, band names,
  style) and :class:`FileOutput` (CSV, PNG, HTML, GeoPackage, time stack, folder) that the single
  writer (``steps/outputs.py``) writes and ``python -m soilp_qgis describe <step>`` prints.

Field names are the QGIS parameter names lower-cased (``soil_moisture`` ↔ ``SOIL_MOISTURE``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .errors import InputError

#: nodata of every float raster soilp writes
FLOAT_NODATA = -9999.0

#: parameter types, as ``describe`` names them (the QGIS parameter class in brackets)
INPUT_KINDS = ("raster", "vector", "layer", "folder", "file")  # layers, folders, files read
LIST_KINDS = ("raster_list",)  # several layers read, in order
OUTPUT_KINDS = ("raster_destination", "file_destination", "vector_destination",
                "folder_destination")
VALUE_KINDS = ("integer", "number", "boolean", "choice", "string", "crs", "field", "extent",
               "mapping")

_META = "soilp"
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}

P = TypeVar("P", bound="StepParameters")


@dataclass(frozen=True)
class Spec:
    """How one parameter is declared: its type, whether it must be given, its choices and range."""

    kind: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


def _field(kind: str, default: Any = None, **spec: Any) -> Any:
    return dataclasses.field(default=default, metadata={_META: Spec(kind, **spec)})


# ---- parameter declarations ------------------------------------------------------------------

def stack(required: bool = True) -> Any:
    """A time stack (GeoTIFF, or NetCDF ``file.nc:variable``) or any raster layer."""
    return _field("raster", required=required)


def stacks(required: bool = True) -> Any:
    """Several time stacks, in order (QGIS: multiple raster layers): a list of paths, or its
    JSON text."""
    return _field("raster_list", required=required)


def raster(required: bool = True) -> Any:
    """A raster layer that is not a time stack (a reference grid, an ecoregion raster)."""
    return _field("raster", required=required)


def vector(required: bool = False) -> Any:
    """A vector layer (``file.gpkg`` or ``file.gpkg|layername=x``)."""
    return _field("vector", required=required)


def layer(required: bool = False) -> Any:
    """A raster or vector layer."""
    return _field("layer", required=required)


def folder(required: bool = True) -> Any:
    """An existing folder the step reads."""
    return _field("folder", required=required)


def file(required: bool = True) -> Any:
    """A file the step reads that is not a layer (a product file: NetCDF, GRIB, GeoTIFF …)."""
    return _field("file", required=required)


def crs() -> Any:
    """A coordinate reference system as text (``EPSG:3035``, WKT or PROJ), optional."""
    return _field("crs")


def integer(default: int | None, minimum: int | None = None,
            maximum: int | None = None) -> Any:
    return _field("integer", default, minimum=minimum, maximum=maximum)


def number(default: float | None, minimum: float | None = None,
           maximum: float | None = None) -> Any:
    """A real number; ``default`` None means "not given" is a meaningful value (automatic)."""
    return _field("number", default, minimum=minimum, maximum=maximum)


def boolean(default: bool = False) -> Any:
    return _field("boolean", default)


def choice(values: Sequence[str], default: str) -> Any:
    """One of ``values`` (matched without regard to case, stored as declared)."""
    return _field("choice", default, choices=tuple(values))


def text(default: str | None = None) -> Any:
    return _field("string", default)


def field_name(default: str | None = "BIOME") -> Any:
    """The name of a field of a vector layer parameter."""
    return _field("field", default)


def extent() -> Any:
    """An extent: four numbers or QGIS's ``"xmin,xmax,ymin,ymax [CRS]"`` (parsed by the step)."""
    return _field("extent")


def mapping() -> Any:
    """Names to values: a JSON object or its text."""
    return _field("mapping")


def raster_output(required: bool = False) -> Any:
    return _field("raster_destination", required=required)


def file_output(required: bool = False) -> Any:
    return _field("file_destination", required=required)


def vector_output(required: bool = False) -> Any:
    return _field("vector_destination", required=required)


def folder_output(required: bool = True) -> Any:
    return _field("folder_destination", required=required)


# ---- conversion ------------------------------------------------------------------------------

def _number(name: str, value: Any, whole: bool) -> int | float:
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool):
        raise InputError(f"{name} must be {kind}; got {value!r}")
    try:
        converted = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {kind}; got {value!r}") from None
    if not math.isfinite(converted):
        raise InputError(f"{name} must be a finite number; got {value!r}")
    if whole:
        if converted != int(converted):
            raise InputError(f"{name} must be a whole number; got {value!r}")
        return int(converted)
    return converted


def _path_list(name: str, value: Any) -> list[str]:
    """A list of layer paths from a list or its JSON text; at least one, none empty."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else [text]
        except ValueError:
            raise InputError(f"{name} must be a list of layers; got {value!r}") from None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) and item.strip() for item in value):
        raise InputError(f"{name} must be a list of layer paths; got {value!r}")
    if not value:
        raise InputError(f"{name} is required: give at least one layer")
    return [str(item) for item in value]


def _convert(name: str, spec: Spec, value: Any) -> Any:
    """``value`` of parameter ``name`` converted to its declared type and checked."""
    if spec.kind in ("integer", "number"):
        converted = _number(name, value, whole=spec.kind == "integer")
        if spec.minimum is not None and converted < spec.minimum:
            raise InputError(f"{name} must be at least {spec.minimum:g}; got {value!r}")
        if spec.maximum is not None and converted > spec.maximum:
            raise InputError(f"{name} must be at most {spec.maximum:g}; got {value!r}")
        return converted
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        word = str(value).strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise InputError(f"{name} must be true or false; got {value!r}")
    if spec.kind == "choice":
        word = str(value).strip()
        for option in spec.choices or ():
            if word.lower() == option.lower():
                return option
        raise InputError(f"{name} {value!r} is not one of {', '.join(spec.choices or ())}")
    if spec.kind == "mapping":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise InputError(f"{name} must be a JSON object; got {value!r}") from None
        if not isinstance(value, dict):
            raise InputError(f"{name} must be a mapping of names to values; got {value!r}")
        return dict(value)
    if spec.kind in LIST_KINDS:
        return _path_list(name, value)
    if spec.kind == "extent":
        return list(value) if isinstance(value, (list, tuple)) else str(value)
    if isinstance(value, (dict, list, tuple)):
        raise InputError(f"{name} must be a {spec.kind.replace('_', ' ')}; got {value!r}")
    return str(value)


@dataclass(frozen=True)
class StepParameters:
    """Base of every step's parameter dataclass (see the module docstring)."""

    #: the step's name as the CLI knows it (``copula_dependence``)
    STEP: ClassVar[str] = ""

    @classmethod
    def specs(cls) -> dict[str, tuple[dataclasses.Field, Spec]]:
        """Each parameter's field and declaration, in declaration order."""
        return {f.name: (f, f.metadata[_META]) for f in dataclasses.fields(cls)
                if _META in f.metadata}

    @classmethod
    def from_params(cls: type[P], params: Mapping[str, Any]) -> P:
        """The parameters of a run from the engine's ``key: value`` dict (keys in any case);
        ``None`` or ``""`` means "not given". Raises :class:`InputError` naming the parameter."""
        specs = cls.specs()
        given = {str(key).lower(): value for key, value in params.items()}
        unknown = sorted(key.upper() for key in given if key not in specs)
        if unknown:
            raise InputError(f"unknown parameter{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(unknown)} for step {cls.STEP}; known: "
                             + ", ".join(key.upper() for key in specs))
        values = {}
        for key, (field, spec) in specs.items():
            value = given.get(key)
            name = key.upper()
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if spec.required:
                    raise InputError(f"{name} is required")
                values[key] = field.default
            else:
                values[key] = _convert(name, spec, value)
        parameters = cls(**values)
        parameters.validate()
        return parameters

    def validate(self) -> None:
        """Checks across parameters (override); raise :class:`InputError` naming them."""

    def as_dict(self) -> dict[str, Any]:
        """The values by QGIS parameter name (``MIN_OBSERVATIONS``), for provenance."""
        return {key.upper(): getattr(self, key) for key in self.specs()}

    def sources(self) -> dict[str, str]:
        """The layers and folders the run reads, by QGIS parameter name (only those given)."""
        paths = {}
        for key, (_, spec) in self.specs().items():
            value = getattr(self, key)
            if spec.kind in INPUT_KINDS and value not in (None, ""):
                paths[key.upper()] = str(value)
            elif spec.kind in LIST_KINDS and value:
                paths.update({f"{key.upper()}[{number}]": str(path)
                              for number, path in enumerate(value, start=1)})
        return paths

    def destinations(self) -> dict[str, str]:
        """The output paths the run writes, by QGIS parameter name (only those given), plus
        those a step derives (:meth:`derived_outputs`)."""
        paths = {key.upper(): str(getattr(self, key)) for key, (_, spec) in self.specs().items()
                 if spec.kind in OUTPUT_KINDS and getattr(self, key) not in (None, "")}
        paths.update(self.derived_outputs())
        return paths

    def derived_outputs(self) -> dict[str, str]:
        """Files written without a parameter of their own (a legend beside its composite, the
        files of an output folder), by a name for messages (override)."""
        return {}


# ---- outputs ---------------------------------------------------------------------------------

Context = Mapping[str, Any]


@dataclass(frozen=True)
class RasterOutput:
    """A per-cell raster output: written from ``array`` (``(bands, rows, cols)``) when its
    parameter ``key`` is given. ``bands`` is a list or a function of the run's context (the
    parameters by field name plus what the step adds, e.g. ``unit``); ``style`` names a preset of
    ``steps/outputs.py`` (``"tau"``, ``"status"`` …) or is a function of the context giving the
    sidecar's QML; None: a continuous style over the values written."""

    key: str
    array: str
    dtype: str = "float32"
    nodata: float | int = FLOAT_NODATA
    bands: Sequence[str] | Callable[[Context], Sequence[str]] | None = None
    style: str | Callable[[Context], str] | None = None
    color_interp: tuple[str, ...] | None = None

    kind: ClassVar[str] = "raster"

    def band_names(self, context: Context) -> list[str] | None:
        names = self.bands(context) if callable(self.bands) else self.bands
        return None if names is None else [str(n) for n in names]

    def describe(self) -> dict[str, Any]:
        return {"name": self.key.upper(), "kind": self.kind, "array": self.array,
                "dtype": self.dtype, "nodata": self.nodata,
                "bands": (self.bands if self.bands is None or not callable(self.bands)
                          else "per run (" + _describe_callable(self.bands) + ")"),
                "style": (self.style if self.style is None or isinstance(self.style, str)
                          else _describe_callable(self.style)),
                "color_interp": list(self.color_interp) if self.color_interp else None}


@dataclass(frozen=True)
class FileOutput:
    """An output that is not a per-cell raster: ``kind`` csv, png, html, gpkg, stack or folder."""

    key: str
    kind: str
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.key.upper(), "kind": self.kind, "description": self.description}


Output = RasterOutput | FileOutput


def _describe_callable(function: Callable) -> str:
    return (function.__doc__ or function.__name__).strip().splitlines()[0]


def describe(parameters: type[StepParameters], outputs: Sequence[Output]) -> dict[str, Any]:
    """A step's contract as JSON-able data: each parameter's name, type, whether it is required,
    default, choices and range, and each output's declaration."""
    rows = []
    for key, (field, spec) in parameters.specs().items():
        row: dict[str, Any] = {"name": key.upper(), "type": spec.kind,
                               "required": spec.required, "default": field.default}
        if spec.choices is not None:
            row["choices"] = list(spec.choices)
        if spec.minimum is not None:
            row["minimum"] = spec.minimum
        if spec.maximum is not None:
            row["maximum"] = spec.maximum
        rows.append(row)
    return {"step": parameters.STEP, "parameters": rows,
            "outputs": [output.describe() for output in outputs]}


__all__ = [
    "FLOAT_NODATA", "FileOutput", "RasterOutput", "Spec", "StepParameters", "boolean", "choice",
    "describe", "extent", "field_name", "file_output", "folder", "folder_output", "integer",
    "layer", "mapping", "number", "raster", "raster_output", "stack", "stacks", "text", "vector",
    "vector_output",
]
