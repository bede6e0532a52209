"""A validated spec: the layers with every default filled in, wired into a graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from ..files.confine import Confinement
from ..layers.catalog import LayerType, Shape
from ..layers.generators import NO_GENERATOR
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
    """Where a layer's target comes from: a data variable, or a generator (as NNC's T.Generator)."""

    dataset: str
    generator: str = NO_GENERATOR
    multiplier: float = 1.0


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

    @property
    def inferred_shape(self) -> Shape:
        """``shape`` where it must be known: in a validated spec, whose every shape was inferred."""
        if self.shape is None:
            raise ValueError(f"layer {self.title} has no inferred shape: its spec did not pass validation")
        return self.shape

    @property
    def title(self) -> str:
        """How messages name the layer: 'fc1' (Affine)."""
        return f"'{self.name}' ({self.type.name})"

    @property
    def parameter_scope(self) -> str:
        return self.props.get("parameter_scope") or self.name

    def parameter_key(self, parameter: str) -> str:
        """nnabla's parameter name: {ParameterScope}/{function scope}/{name}, e.g. fc1/affine/W."""
        return f"{self.parameter_scope}/{self.type.function_scope}/{parameter}"

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
            shape = layer.target_shapes.get(name)
            readers.append(DataReader(source.dataset, layer, shape, source.generator, source.multiplier, name))
    return readers


SHOWN_OUTPUTS = 5  # a Spec's repr names this many of its outputs


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
    # where the files it names may be (None: the default, see nnspec.files.confine)
    confinement: Confinement | None = None
    read_data: bool = True  # False: validated without opening the files it names (validate --no-data)
    # The layers as written, where they differ from ``layers`` (the layers that run): a spec with
    # repeats (nnspec.spec.expand) writes one RepeatStart, its block and one RepeatEnd; None otherwise.
    written: dict[str, Layer] | None = None

    @property
    def written_layers(self) -> dict[str, Layer]:
        """The layers as the spec writes them (its repeats not expanded)."""
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
        return f"<Spec{named} from {self.file!r}: {len(self.layers)} layers, outputs {outputs}, {self.dtype}>"

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
