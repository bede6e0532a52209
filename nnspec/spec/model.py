"""A validated spec: the layers with every default filled in, wired into a graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import networkx as nx

from ..core.diagnostics import Diagnostic
from ..core.printable import quoted_name
from ..files.confine import Confinement
from ..layers.catalog import LayerType, Shape
from ..layers.generators import NO_GENERATOR
from .expressions import Argument, PropertyExpression, Unusable, Value
from .loader import SourceMap


@dataclass(frozen=True)
class ParameterSource:
    """Where a parameter's values come from: a file, or an initializer times a multiplier."""

    initializer: str
    multiplier: float
    file: Path | None = None
    lrate_multiplier: float = 1.0  # NNC's LRateMultiplier: kept for training and round trips, unused by a run


@dataclass(frozen=True)
class TargetSource:
    """Where a layer's side input (a loss's target T, KLMultinomial's q, a second operand R written
    as ``R: {...}``) comes from: a data variable, a generator (as NNC's T.Generator), or another
    layer's output (``input``: NNC's link into the pin)."""

    dataset: str
    generator: str = NO_GENERATOR
    multiplier: float = 1.0
    input: str | None = None  # the layer whose output it is (then dataset and generator are unused)

    def variable(self, layer: str, pin: str) -> str | None:
        """The data variable it reads: its dataset's; for a generated one, its own, named after its
        layer and pin (``loss/T``), so that generated side inputs of different shapes never share one
        (as NNC, where a generator variable is no data variable); None when a layer feeds it."""
        if self.input is not None:
            return None
        return self.dataset if self.generator == NO_GENERATOR else generated_variable(layer, pin)


def generated_variable(layer: str, pin: str) -> str:
    """The data variable of a generated side input: ``layer/pin`` ('/' is in no layer or data name)."""
    return f"{layer}/{pin}"


class ArgumentScope(Protocol):
    """The argument values a unit's inner layer evaluates its expressions with (nnspec.spec.units):
    the unit's, computed once its input's shape is known."""

    def values(
        self, layers: dict[str, Layer], arguments: Mapping[str, Value | Unusable], diagnostics: Any
    ) -> Mapping[str, Value | Unusable]: ...


@dataclass
class Layer:
    """One layer of a spec, resolved: properties with defaults, explicit inputs, inferred shapes."""

    name: str
    type: LayerType
    props: dict[str, Any]
    inputs: list[str]
    parameters: dict[str, ParameterSource]
    index: int
    checks: dict[str, Any] = field(default_factory=dict)  # this layer's check settings
    targets: dict[str, TargetSource] = field(default_factory=dict)
    shape: Shape | None = None
    parameter_shapes: dict[str, Shape] = field(default_factory=dict)
    target_shapes: dict[str, Shape] = field(default_factory=dict)
    # properties written as expressions (=Input[0]*2): evaluated into ``props`` by shape inference
    expressions: dict[str, PropertyExpression] = field(default_factory=dict)
    # The pin (R, x, y) its last input was written under, as ``R: {input: layer}``; None: in ``input:``
    operand_pin: str | None = None
    # A layer of a unit's network, written out in the unit's place: the unit's argument values, which its
    # expressions read instead of the spec's arguments (None: a layer of the network that runs)
    unit_arguments: ArgumentScope | None = None
    # Where NNC's editor draws it (its position: [x, y] or [x, y, width, height]); None: not written
    position: list[int] | None = None

    @property
    def operand_count(self) -> int:
        """How many operands its formula takes: its inputs, and a second operand read from data."""
        return len(self.inputs) + (self.type.operand is not None and self.type.operand in self.targets)

    def side_inputs(self) -> dict[str, str]:
        """The layers feeding its side inputs, by pin (``T: {input: layer}``), parameters given by a
        layer's output included (``W: {input: layer}``)."""
        return {pin: source.input for pin, source in self.targets.items() if source.input is not None}

    @property
    def stored_parameter_shapes(self) -> dict[str, Shape]:
        """``parameter_shapes`` but those another layer gives: the parameters a run draws or loads."""
        fed = self.fed_parameters()
        return {name: shape for name, shape in self.parameter_shapes.items() if name not in fed}

    def fed_parameters(self) -> dict[str, str]:
        """The parameters another layer's output gives, by name (``W: {input: layer}``: NNC's link into
        a parameter pin). Kept among ``targets`` (after the layer type's own), so that the graph, repeat
        copies, units and a run's plan treat the link as any side input's: an edge, a read."""
        return {pin: source.input for pin, source in self.targets.items() if pin in self.parameters and source.input}

    @property
    def inferred_shape(self) -> Shape:
        """``shape`` where it must be known: in a validated spec, whose every shape was inferred."""
        if self.shape is None:
            raise ValueError(f"layer {self.title} has no inferred shape: its spec did not pass validation")
        return self.shape

    @property
    def title(self) -> str:
        """How messages name the layer: 'fc1' (Affine), "y'" (Softmax)."""
        return f"{quoted_name(self.name)} ({self.type.name})"

    @property
    def parameter_scope(self) -> str:
        return self.props.get("parameter_scope") or self.name

    def parameter_key(self, parameter: str) -> str:
        """nnabla's parameter name: {ParameterScope}/{function scope}/{name}, e.g. fc1/affine/W; /{name}
        for the types NNC names without a scope (MinMaxQuantize's /r); a layer type without a function
        scope (Parameter, WorkingMemory) is one array named after the layer."""
        if self.type.unscoped_parameters:
            return f"/{parameter}"
        if self.type.function_scope is None:
            return self.name
        return f"{self.parameter_scope}/{self.type.function_scope}/{parameter}"

    def parameter_keys(self, parameter: str) -> list[str]:
        """The names a parameter is looked up under in a parameter file: nnabla's, then its type's
        other function scopes (``scope_aliases``: NNC's ``up/conv/W`` for a Deconvolution's ``up/deconv/W``)."""
        return [self.parameter_key(parameter)] + [
            f"{self.parameter_scope}/{alias}/{parameter}" for alias in self.type.scope_aliases
        ]

    @property
    def dataset(self) -> str:
        """The data variable a source layer reads (default: its own name)."""
        return self.props.get("dataset") or self.name


@dataclass(frozen=True)
class DataReader:
    """One reading of a data variable: an Input layer's, or a loss layer's target's."""

    variable: str
    layer: Layer
    size: Shape | None  # one sample's shape (None where shape inference failed)
    generator: str
    multiplier: float
    target: str | None = None  # the target's name; None for an Input layer
    # The name its generator's stream is keyed by (nnspec.layers.generators): the variable's, but for a
    # generated side input the dataset it names, as before side inputs had variables of their own, so
    # the values a spec generates stay the same.
    stream: str = ""

    @property
    def stream_key(self) -> str:
        return self.stream or self.variable

    @property
    def sample_shape(self) -> Shape:
        """``size`` where it must be known: in a validated spec, whose every shape was inferred."""
        if self.size is None:
            raise ValueError(f"{self.title} has no inferred shape: its spec did not pass validation")
        return self.size

    @property
    def title(self) -> str:
        return self.layer.title if self.target is None else f"target {self.target} of {self.layer.title}"


def data_readers(layers: dict[str, Layer]) -> list[DataReader]:
    """Every reading of a data variable, in the order the layers are written."""
    readers = []
    for layer in layers.values():
        if layer.type.is_source:
            props = layer.props
            readers.append(
                DataReader(layer.dataset, layer, props["size"], props["generator"], props["generator_multiplier"])
            )
        for name, source in layer.targets.items():
            variable = source.variable(layer.name, name)
            if variable is None:
                continue  # a layer's output, no data
            shape = layer.target_shapes.get(name)
            stream = source.dataset or variable
            readers.append(DataReader(variable, layer, shape, source.generator, source.multiplier, name, stream=stream))
    return readers


SHOWN_OUTPUTS = 5  # a Spec's repr names this many of its outputs


@dataclass(frozen=True)
class RepeatBlock:
    """One run of a repeat's block as the pictures draw it: a RepeatStart (``start``, run ``times``
    times) with every copy of its layers, in the iterations ``outer`` of the repeats around it
    (empty for a repeat at the top: one block; an inner repeat has one block per outer iteration)."""

    start: str
    times: int
    outer: tuple[int, ...]
    layers: tuple[str, ...]  # the copies inside it, in the order they run, those of inner repeats included

    @property
    def label(self) -> str:
        """``RepeatStart x3``; an inner repeat's block says which outer iteration it is in: ``Inner[1] x3``."""
        return f"{self.start}{''.join(f'[{k}]' for k in self.outer)} x{self.times}"


@dataclass
class Spec:
    """A spec that passed validation, ready to run."""

    file: str
    name: str | None
    description: str | None
    dtype: str
    seed: int
    layers: dict[str, Layer]
    outputs: list[str]
    data: dict[str, Any]
    graph: nx.DiGraph[str]
    order: tuple[str, ...]  # the order the layers run in (nnspec.spec.graph.execution_order), computed once
    source_map: SourceMap
    checks: dict[str, Any] = field(default_factory=dict)  # check settings for every layer
    dataset: Path | None = None  # the spec's dataset: (an NNC dataset CSV), relative to the spec made absolute
    image_normalization: bool = True  # the spec's dataset: divides its 8-bit images by 255 (NNC's ImageNormalization)
    # NNC's project settings (project:, as the schema checked them): the datasets and executors a run reads
    project: dict[str, Any] = field(default_factory=dict)
    # NNC's Comment layers of the main network (comments:, as written): drawn notes that compute nothing
    comments: list[dict[str, Any]] = field(default_factory=list)
    # where the files it names may be (None: the default, see nnspec.files.confine)
    confinement: Confinement | None = None
    read_data: bool = True  # False: validated without opening the files it names (validate --no-data)
    arguments: dict[str, Argument] = field(default_factory=dict)  # NNC's Argument layers, by name
    # The view a run takes by default (nnspec.spec.views): the spec's view: key (None: unset, the
    # validation view); in a view of a spec (views.as_view), the view it is.
    view: str | None = None
    # A view of a spec: the spec as validated, which the view was derived from (None: this is it).
    as_written: Spec | None = field(default=None, repr=False, compare=False)
    # The layers as written, where they differ from ``layers`` (the layers that run): a spec with
    # repeats (nnspec.spec.expand) writes one RepeatStart, its block and one RepeatEnd, a spec with
    # recurrent loops (nnspec.spec.recurrence) writes each loop's layers once; None otherwise.
    written: dict[str, Layer] | None = None
    # The network that runs (None: the main one, layers:), and every network the spec writes beside
    # the main one (networks:), their layers resolved, not expanded (nnspec.spec.networks).
    network: str | None = None
    networks: dict[str, Any] = field(default_factory=dict)
    main_layers: dict[str, Layer] | None = None  # the main network as written, when another one runs
    # Each unit written out (nnspec.spec.units): its expanded name -> the expanded layers it stands for
    units: dict[str, Any] = field(default_factory=dict)
    # Each repeat's block (nnspec.spec.expand.repeat_blocks), outer blocks before those inside them.
    repeats: tuple[RepeatBlock, ...] = ()
    # The edges that carry a value from one step of a recurrent loop to the next, through a Delay
    # (nnspec.spec.recurrence): (the input's copy at step t-1, the reader's copy at step t).
    delayed: frozenset[tuple[str, str]] = frozenset()
    # What the file's reader left out (info diagnostics: an NNC project's settings nnspec has no place for),
    # and validation's warnings about a valid spec (an argument outside its type, used as written)
    notes: tuple[Diagnostic, ...] = ()
    # A spec of an older format version, upgraded in memory when loaded (nnspec.spec.upgrade.as_current):
    # what its upgrade changed, which `validate` notes (empty: nothing, or a spec of the current version).
    upgrade_notes: tuple[str, ...] = ()
    format_version: int = 2  # the nnspec: version the spec is written in (read as the current one)

    @property
    def written_layers(self) -> dict[str, Layer]:
        """The layers as the spec writes them (its repeats and recurrent loops not expanded)."""
        return self.layers if self.written is None else self.written

    @property
    def readers(self) -> list[DataReader]:
        return data_readers(self.layers)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each layer's place in the order of ``layers``: the order written, with a repeat's copies
        iteration after iteration where its block is written (copies share the written ``index``)."""
        return {name: n for n, name in enumerate(self.layers)}

    def __repr__(self) -> str:
        # One line: the generated repr printed every layer, the graph and the source map (tens of kB).
        named = f" {self.name!r}" if self.name else ""
        outputs = ", ".join(self.outputs[:SHOWN_OUTPUTS])
        if len(self.outputs) > SHOWN_OUTPUTS:
            outputs += f" and {len(self.outputs) - SHOWN_OUTPUTS} more"
        view = f", {self.view} view" if self.view else ""
        return f"<Spec{named} from {self.file!r}: {len(self.layers)} layers, outputs {outputs}, {self.dtype}{view}>"

    def locate(self, layer: str) -> tuple[int | None, int | None]:
        """Line and column where a layer is written."""
        return self.source_map.locate(("layers", self.layers[layer].index))

    @property
    def directory(self) -> Path:
        return Path(self.file).parent

    @property
    def allowed(self) -> Confinement:
        """Where the files the spec names, and its dataset's cells, may be."""
        return self.confinement or Confinement.for_spec(self.file)
