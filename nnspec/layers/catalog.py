"""The layer catalog: the single source of truth about every layer type.

Each entry carries what NNC's layer reference gives (the formula in o=f(i) form,
a description, properties with their defaults) and what nnspec adds: the input
range the layer behaves well in, the range of its outputs, its forward function
and its shape rule. The JSON Schema, ``nnspec layers``, docs/layers.md and the
runner all read this catalog; nothing else lists the layers.

Layer modules in ``nnspec.layers`` fill the catalog with ``register``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from math import prod
from typing import Any

import numpy as np

Shape = tuple[int, ...]
Forward = Callable[[Sequence[np.ndarray], Mapping[str, Any], Mapping[str, np.ndarray]], np.ndarray]
# A forward made for one layer: its properties and parameters given once, it takes the inputs alone.
Bound = Callable[[Sequence[np.ndarray]], np.ndarray]
ShapeRule = Callable[[Sequence[Shape], Mapping[str, Any]], Shape]
# (input estimates, input shapes, properties, parameter moments {name: (mean, variance)}, dtype) -> estimate
EstimateRule = Callable[..., Any]


class ShapeError(ValueError):
    """A layer cannot take the shapes it receives; the message says what it expected.

    ``prop`` names the property at fault, if one is, so the error can point at it.
    """

    def __init__(self, message: str, prop: str | None = None):
        super().__init__(message)
        self.prop = prop


# What each property kind accepts, as JSON Schema and as words for error messages.
# Sizes and axes stay below 2**31, as in nnabla's and NNC's int32 shape fields.
INT_MAX = 2**31 - 1
# oneOf, not anyOf, where the branches' types differ: the same meaning, and editors' hovers
# then show a property's title once (yaml-language-server repeats it for each anyOf branch).
KINDS: dict[str, tuple[dict[str, Any], str]] = {
    "int": ({"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX}, "an integer"),
    "uint": ({"type": "integer", "minimum": 0, "maximum": INT_MAX}, "an integer >= 0"),
    "pint": ({"type": "integer", "minimum": 1, "maximum": INT_MAX}, "an integer >= 1"),
    "float": ({"type": "number"}, "a number"),
    "bool": ({"type": "boolean"}, "true or false"),
    "text": ({"type": "string"}, "text"),
    "choice": ({"type": "string"}, "one of the listed choices"),
    "shape": (
        {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": INT_MAX},
                {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": INT_MAX}, "minItems": 1},
            ]
        },
        "a positive integer or a list of positive integers",
    ),
    "range": (
        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "a list of two numbers [low, high]",
    ),
    "int_array": (
        {
            "oneOf": [
                {"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX},
                {"type": "array", "items": {"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX}},
            ]
        },
        "an integer or a list of integers",
    ),
    "uint_array": (
        {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": INT_MAX},
                {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": INT_MAX}},
            ]
        },
        "an integer >= 0 or a list of them",
    ),
    "float_array": (
        {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]},
        "a number or a list of numbers",
    ),
    # A Unit's per-argument values and per-inner-parameter settings (nnspec.spec.units reads them).
    "mapping": ({"type": "object"}, "a mapping"),
}


# What an input of a layer must be for its formula to be defined (see Domain).
POSITIVE, NONNEGATIVE, NONZERO = "positive", "nonnegative", "nonzero"


@dataclass(frozen=True)
class Domain:
    """Where a layer's formula is defined, for the domain checks (nnspec.checks.domains): input ``index``
    must be POSITIVE (> 0), NONNEGATIVE (>= 0) or NONZERO, as ``kind(props)`` says for the
    layer's properties (None: any value will do, as for an integer power); ``outside`` says what
    the formula gives there, and ``fix`` what keeps the input inside. ``check`` is the check's id."""

    check: str
    kind: Callable[[Mapping[str, Any]], str | None]
    outside: str
    fix: str
    index: int = 0


@dataclass(frozen=True)
class Property:
    """A layer property, spelled in snake_case; ``nnc_name`` is NNC's CamelCase spelling."""

    name: str
    kind: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    # NNC's spelling where it is not the CamelCase of the name (FlipLR for flip_lr).
    nnc_spelling: str = ""

    @property
    def nnc_name(self) -> str:
        return self.nnc_spelling or "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def expects(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return KINDS[self.kind][1]

    def normalize(self, value: Any) -> Any:
        """The value as the forward function receives it (shapes become tuples)."""
        if value is None:
            return None
        if self.kind in ("shape", "int_array", "uint_array"):  # JSON Schema counts 3.0 as an integer: store 3
            return (int(value),) if isinstance(value, (int, float)) else tuple(int(n) for n in value)
        if self.kind == "float_array":
            return (float(value),) if isinstance(value, (int, float)) else tuple(float(n) for n in value)
        if self.kind in ("int", "uint", "pint"):
            return int(value)
        if self.kind in ("float", "range"):
            return float(value) if self.kind == "float" else (float(value[0]), float(value[1]))
        return value


# The layers with parameters (basic, activation, normalization) share this property: defined once, it
# cannot be worded differently in one of them.
PARAMETER_SCOPE = Property(
    "parameter_scope",
    "text",
    None,
    "Name parameters are stored under (default: the layer's name); layers with one scope share parameters.",
)


def affine_fans(shape: Shape) -> tuple[int, int, int]:
    """(inmaps, outmaps, kernel size) of a weight laid out as (inputs, *outputs)."""
    return shape[0], prod(shape[1:]), 1


@dataclass(frozen=True)
class Parameter:
    """A learnable array of a layer, named as nnabla names it: {scope}/{function scope}/{name}."""

    name: str
    initializer: str
    multiplier: float
    shape: Callable[[Sequence[Shape], Mapping[str, Any]], Shape]
    description: str
    initializers: tuple[str, ...] = ("Normal", "Uniform", "Constant")
    enabled: Callable[[Mapping[str, Any]], bool] = lambda props: True
    fans: Callable[[Shape], tuple[int, int, int]] = affine_fans
    lrate_multiplier: float = 1.0  # NNC's default LRateMultiplier (0 for what training must not change: Wb, l, L)


CLASSES, BINARY = "classes", "binary"  # Target.labels


@dataclass(frozen=True)
class Target:
    """A data variable a layer reads beside its inputs, as NNC's loss layers read T
    (``T: {dataset: y}``): by default, of the shape of the layer's first input."""

    name: str
    description: str
    dataset: str = "y"
    shape: Callable[[Sequence[Shape], Mapping[str, Any]], Shape] = lambda shapes, props: shapes[0]
    # Its source when the spec writes none: a loss's target reads data (generator "None"); a Delay's
    # Initial is NNC's Constant 0.
    generator: str = "None"
    multiplier: float = 1.0
    # What values it holds, where that is narrower than its input's: CLASSES, class indices along the
    # layer's ``axis`` property (0 .. the input's size there - 1); BINARY, labels 0 or 1; None, values
    # like the input's. What `run --synthetic` makes for it (nnspec.runtime.synthetic).
    labels: str | None = None


@dataclass(frozen=True)
class Arity:
    """How many layer inputs a layer takes (``most`` None: any number)."""

    least: int
    most: int | None

    def accepts(self, n: int) -> bool:
        return n >= self.least and (self.most is None or n <= self.most)

    def __str__(self) -> str:
        if self.most == self.least:
            return f"exactly {self.least} input{'s' if self.least != 1 else ''}"
        if self.most is None:
            return f"{self.least} or more inputs"
        return f"{self.least} to {self.most} inputs"


ONE_INPUT = Arity(1, 1)
NO_INPUT = Arity(0, 0)


class Role(Enum):
    """What a layer's output is to the rest of nnspec. The report and the checks read this, never
    the category, which is NNC's palette grouping and only orders the layer reference."""

    SOURCE = "source"  # takes its values from data, not from other layers
    TRANSFORM = "transform"  # computes its output from its inputs: most layers
    NORMALIZATION = "normalization"  # sets the scale of its output itself
    LOSS = "loss"  # a loss per value: its mean over the data is the network's loss
    VALIDATION = "validation"  # 1 per error, 0 otherwise: its mean is the error rate

    @property
    def is_result(self) -> bool:
        """A loss or an error count: what the network is judged by, not a value passed on."""
        return self in (Role.LOSS, Role.VALIDATION)


@dataclass(frozen=True)
class LayerType:
    """One catalog entry: everything nnspec knows about a layer type."""

    name: str
    category: str  # NNC's palette category, for the layer reference's grouping; behaviour reads role
    formula: str
    description: str
    forward: Forward
    infer_shape: ShapeRule
    properties: tuple[Property, ...] = ()
    arity: Arity = ONE_INPUT
    parameters: tuple[Parameter, ...] = ()
    targets: tuple[Target, ...] = ()  # data variables read beside the inputs, appended to them
    # NNC's pin for the second input of a two-input layer (Sub2's R, ATan2's x, BroadcastTo's y): a spec
    # may give that input as ``R: {input: layer}`` instead of ``input: [a, b]``, and, where NNC's pin
    # has R.Dataset/R.Generator (operand_from_data), as data or a generator of the first input's shape.
    operand: str | None = None
    operand_from_data: bool = True
    function_scope: str | None = None
    # Other function scopes its parameters are found under when read (never written): NNC's exports
    # name Deconvolution's parameters ``{scope}/conv/W`` where nnabla's PF.deconvolution says ``deconv``.
    scope_aliases: tuple[str, ...] = ()
    role: Role = Role.TRANSFORM
    # The input range in which the layer keeps the differences between its inputs,
    # and the range its outputs can take (None: unbounded on that side).
    input_range: tuple[float, float] | None = None
    output_range: tuple[float | None, float | None] = (None, None)
    range_note: str = ""
    # Behaviours the range checks look for (see nnspec.checks.table).
    saturates: bool = False  # outputs pinned to output_range's bounds outside input_range
    zero_for_negative: bool = False  # outputs 0 for every input <= 0, as ReLU does
    exp_overflows: bool = False  # computes exp(i), which overflows past log(dtype max)
    probabilities: bool = False  # outputs a probability distribution along its axis property
    probability_input: bool = False  # its input must be a probability in 0..1 and its target 0 or 1
    domain: Domain | None = None  # where its formula is defined, if not everywhere
    # A function of one value, o = f(i), whose curve the report's pictures draw (nnspec.report.pictures.ranges);
    # only for elementwise layers of one input without parameters or targets.
    curve: bool = False
    # Static analysis (nnspec.spec.static): how an estimate of the values passes the layer.
    # An elementwise layer needs no rule: its own forward function carries the estimate.
    elementwise: bool = False
    estimate: EstimateRule | None = None
    # For a layer of one input computed value by value: ``in_place(i, out=o)`` writes the output into
    # ``o`` and returns it (numpy's convention). The runner passes o=i where nothing else reads the
    # input, saving the memory and the allocation of a new array.
    in_place: Callable[..., np.ndarray] | None = None
    # ``bind(props, params)``: the forward of one layer, with the work that depends only on its
    # properties and parameters done once; the runner calls it batch after batch (nnspec.runtime.plan). It
    # gives exactly what forward gives. For layers whose own work is small beside that bookkeeping.
    bind: Callable[[Mapping[str, Any], Mapping[str, np.ndarray]], Bound] | None = None
    # Whether forward (and bind's function) always return an array of their own making, or a view
    # of one: never an input or a parameter. A later layer may then write over it without the
    # check the runner makes otherwise (nnspec.runtime.plan.owns), which costs as much as a small layer.
    fresh_output: bool = False
    # What NNC's evaluation changes (nnspec.spec.semantics): ``test_arguments`` are the property values
    # NNC passes at evaluation whatever the spec says (its layer definitions' ``-test=`` marks);
    # ``skip_at_test`` says the type has NNC's SkipAtTest property (named skip_at_test here): at
    # evaluation a layer with it true passes its input through, in training the layer runs.
    test_arguments: tuple[tuple[str, Any], ...] = ()
    skip_at_test: bool = False
    # A quantizer: inputs beyond forward(-inf)..forward(+inf), its lowest and highest levels, are clipped to
    # them (the quantize-clipping check counts them).
    clips: bool = False
    # Why an output depends on the other samples of its batch (Prune's threshold over the whole batch), for
    # the reference and the batch-dependent check; "" for the layers that compute each sample alone.
    whole_batch: str = ""
    # NNC names the parameters /NAME, with neither a parameter scope nor a function scope (MinMaxQuantize's
    # /r, /R, /l, /L): every layer of the type shares them, as in NNC.
    unscoped_parameters: bool = False
    # The property that, left out, is the shape of the parameter pin the layer's output feeds (NNC's
    # default *GraphOutput: a Parameter linked into an Affine's W is W's shape). Shape inference gives the
    # layer's rules that shape under this name (nnspec.spec.graph); the written spec keeps it left out.
    size_from_pin: str | None = None

    def __reduce__(self) -> tuple[Callable[..., LayerType], tuple[Any, ...]]:
        # Pickled by name, unpickled as the catalog's own entry (its functions are not picklable, and
        # code compares types by identity): a spec sent to a Dask worker (nnspec.runtime.distributed)
        # finds the same layer types there. A variant of an entry made with dataclasses.replace (the
        # unrolled loop's STACKED_STEPS) is pickled as the entry's name and the fields it changes.
        registered = CATALOG.get(self.name)
        if registered is None:
            raise TypeError(f"layer type {self.name} is not registered: it cannot be sent to another process")
        if registered is self:
            return registered_type, (self.name,)
        changed = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not getattr(registered, f.name)
            and getattr(self, f.name) != getattr(registered, f.name)
        }
        return variant_type, (self.name, changed)

    @property
    def operand_target(self) -> Target | None:
        """The second-operand pin as a side input read from data or a generator (None: not allowed)."""
        if self.operand is None or not self.operand_from_data:
            return None
        return Target(self.operand, "the second operand, of the first input's shape", dataset="")

    @property
    def property_map(self) -> dict[str, Property]:
        return {p.name: p for p in self.properties}

    @property
    def is_source(self) -> bool:
        """Takes its values from data, not from other layers."""
        return self.role is Role.SOURCE


CATALOG: dict[str, LayerType] = {}
# The tables built once from the whole catalog (the checks, the JSON Schema), in the order they were
# first built: a layer type registered after one of them would be missing from it, so register refuses.
_BUILT_FROM_CATALOG: list[str] = []


class LateRegistration(RuntimeError):
    """A layer type registered after a table was built from the catalog (see ``whole_catalog``)."""


def register(layer_type: LayerType) -> LayerType:
    if layer_type.name in CATALOG:
        raise ValueError(f"layer type {layer_type.name} registered twice")
    if _BUILT_FROM_CATALOG:
        raise LateRegistration(
            f"layer type {layer_type.name} registered after {_BUILT_FROM_CATALOG[0]} was built from the catalog, "
            "which would not know it: register layer types before the first validation or run"
        )
    CATALOG[layer_type.name] = layer_type
    return layer_type


def layer_types() -> dict[str, LayerType]:
    """Every layer type, importing the layer modules on first use."""
    from .. import layers  # noqa: F401  (registers the layer modules)

    return CATALOG


def registered_type(name: str) -> LayerType:
    """The catalog's layer type ``name`` (how a pickled LayerType comes back: see LayerType.__reduce__)."""
    types = layer_types()
    if name not in types:
        raise LookupError(f"layer type {name} is not registered in this process (register it before unpickling)")
    return types[name]


def variant_type(name: str, changed: dict[str, Any]) -> LayerType:
    """The catalog's layer type ``name`` with the fields ``changed`` (how a pickled variant comes back)."""
    return dataclasses.replace(registered_type(name), **changed)


def whole_catalog(table: str) -> dict[str, LayerType]:
    """Every layer type, for ``table`` (its name, for the error) built once from all of them and
    kept: from now on ``register`` raises LateRegistration rather than leave the table incomplete."""
    types = layer_types()  # imports the layer modules first: their own registrations come before
    if table not in _BUILT_FROM_CATALOG:
        _BUILT_FROM_CATALOG.append(table)
    return types


# --- helpers the layer modules share -------------------------------------------------


def unary(fn: Callable[[np.ndarray], np.ndarray]) -> Forward:
    """A forward function for a layer of one input and no properties: o = fn(i)."""

    def forward(inputs: Sequence[np.ndarray], props: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> np.ndarray:
        return fn(inputs[0])

    forward.__doc__ = fn.__doc__
    forward.__name__ = fn.__name__
    return forward


def same_shape(shapes: Sequence[Shape], props: Mapping[str, Any]) -> Shape:
    """Elementwise layers: the output has the input's shape."""
    return shapes[0]


def check_axis(axis: int, shape: Shape, prop: str = "axis") -> None:
    if not 0 <= axis < len(shape):
        raise ShapeError(
            f"{prop} {axis} is out of range: axes count from 0 without the batch axis, "
            f"so with {len(shape)} ax{'i' if len(shape) == 1 else 'e'}s the last is {len(shape) - 1}",
            prop,
        )


def clip_levels(
    layer_type: LayerType, props: Mapping[str, Any], params: Mapping[str, np.ndarray], dtype: Any
) -> tuple[float, float]:
    """A clipping layer's (``clips``) lowest and highest outputs: its forward function at -inf and +inf."""
    ends = np.array([-np.inf, np.inf], dtype=dtype)
    with np.errstate(all="ignore"):
        low, high = layer_type.forward([ends], props, params)
    return float(low), float(high)


def format_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
