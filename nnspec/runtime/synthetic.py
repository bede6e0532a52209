"""``--synthetic``: data for every data variable that has no other source, made from its declared size.

NNC's projects rarely come with their data; a run with ``synthetic=True`` still checks a network's
ranges by drawing what the data would look like:

- an Input's variable: uniform in -1..1, NNC's rule for data, or in 0..255 where the dataset the run
  would read feeds its images unnormalised (``image_normalization: false``, NNC's ImageNormalization=0);
  but class indices in range where every layer reading the Input takes class indices (OneHot, Embed);
- a target holding class indices (SoftmaxCrossEntropy, CategoricalCrossEntropy, TopNError: the
  catalog's ``Target.labels``): integers 0 .. C - 1, C the size of the loss's input along its axis;
- a target of labels 0 or 1 (BinaryCrossEntropy, SigmoidCrossEntropy, BinaryError): 0 or 1;
- any other target: uniform over the range of the layer feeding its loss where that layer's outputs
  are bounded (a Sigmoid's 0..1, a Tanh's -1..1: the catalog's output_range), else as an Input's.

Every value comes from the same counter-based Philox stream as ``generator: Uniform`` (keyed by the
spec's seed and the variable: nnspec.layers.generators), so a synthetic run is reproducible from the
seed, and a sample's values are the same whatever batch it is drawn in.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite

import numpy as np

from ..core.numbers import format_number
from ..layers.catalog import BINARY, CLASSES
from ..layers.generators import GENERATORS
from ..spec.model import DataReader, Spec

UNIFORM = "uniform"
# The layers whose input is class indices, and how many classes a layer's properties give: an Input
# read by these alone holds indices (an index out of range makes them NaN). OneHot's shape gives one
# class count per index: the smallest keeps every index in range.
INDEX_READERS = {
    "OneHot": lambda props: min(props["shape"]) if isinstance(props["shape"], (list, tuple)) else props["shape"],
    "Embed": lambda props: props["num_class"],
}
NNC_RULE = (-1.0, 1.0)  # NNC's rule: data lies in about -1..1
UNNORMALISED = (0.0, 255.0)  # 8-bit images fed as they are


@dataclass(frozen=True)
class Synthesis:
    """How one variable's synthetic values are drawn: ``values`` UNIFORM (floats in low..high),
    CLASSES (integers low..high) or BINARY (0 or 1); ``why`` the rule, in a few words."""

    values: str
    low: float
    high: float
    why: str

    @property
    def description(self) -> str:
        """As a run's sources say it: "synthetic class indices 0..9 (SoftmaxCrossEntropy's axis 0)"."""
        span = f"{format_number(self.low)}..{format_number(self.high)}"
        drawn = {UNIFORM: f"uniform {span}", CLASSES: f"class indices {span}", BINARY: "labels 0 or 1"}[self.values]
        return f"synthetic {drawn} ({self.why})"

    @property
    def unnormalised(self) -> bool:
        """Whether these are drawn as images fed as they are (0..255), which the network is to scale."""
        return self.values == UNIFORM and (self.low, self.high) == UNNORMALISED

    def draw(self, reader: DataReader, start: int, stop: int, seed: int) -> np.ndarray:
        """Samples ``start`` to ``stop`` (exclusive) of ``reader``'s variable, in float64."""
        uniform = GENERATORS["Uniform"].draw(seed, reader.stream_key, start, stop - start, reader.sample_shape)
        unit = (uniform + 1.0) * 0.5  # in [0, 1)
        if self.values == CLASSES:
            classes = self.high - self.low + 1
            return np.minimum(np.floor(unit * classes), classes - 1) + self.low
        if self.values == BINARY:
            return (unit >= 0.5).astype(np.float64)
        return self.low + unit * (self.high - self.low)


def synthesis(spec: Spec, reader: DataReader, image_normalization: bool) -> Synthesis:
    """How ``reader``'s variable is drawn in a synthetic run (see the module's docstring);
    ``image_normalization``: of the dataset the run would read."""
    data = (
        Synthesis(UNIFORM, *NNC_RULE, "NNC's rule for data")
        if image_normalization
        else Synthesis(UNIFORM, *UNNORMALISED, "images not normalised: image_normalization false")
    )
    if reader.target is None:
        return _indices_read(spec, reader) or data
    layer = reader.layer
    target = next((t for t in layer.type.targets if t.name == reader.target), None)
    labels = target.labels if target is not None else None
    if labels == CLASSES and layer.inputs:
        axis = layer.props["axis"]
        classes = spec.layers[layer.inputs[0]].inferred_shape[axis]
        return Synthesis(CLASSES, 0, classes - 1, f"{layer.type.name}'s classes along axis {axis}")
    if labels == BINARY:
        return Synthesis(BINARY, 0, 1, f"{layer.type.name}'s labels")
    if not layer.inputs:
        return data
    feeding = spec.layers[layer.inputs[0]]
    low, high = feeding.type.output_range
    if low is None or high is None or not (isfinite(low) and isfinite(high) and low < high):
        return data
    return Synthesis(UNIFORM, low, high, f"the output range of {feeding.type.name}, {layer.type.name}'s input")


def _indices_read(spec: Spec, reader: DataReader) -> Synthesis | None:
    """Class indices for an Input that only layers taking class indices read (INDEX_READERS)."""
    readers = [spec.layers[name] for name in spec.graph.successors(reader.layer.name)]
    if not readers or any(layer.type.name not in INDEX_READERS for layer in readers):
        return None
    classes = min(int(INDEX_READERS[layer.type.name](layer.props)) for layer in readers)
    names = ", ".join(sorted({layer.type.name for layer in readers}))
    return Synthesis(CLASSES, 0, classes - 1, f"the class indices {names} reads")
