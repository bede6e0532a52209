"""A layer's size taken from the parameter pin it feeds: NNC's default *GraphOutput.

NNC's Parameter layer defaults its Size to *GraphOutput, the shape of the parameter pin its output is
linked to: linked into an Affine's W, it is W's shape. The link may pass layers that keep the shape on the
way (unetlike_125px's Parameter -> AddScalar -> MulScalar -> Convolution's W). A spec (or a project NNC
wrote) that leaves that size out gets it here, during shape inference, from the parameter shapes of the
layers it reaches so.

Those parameter shapes come from the fed layer's main inputs and properties, never from the pin itself,
but the fed layer runs after the Parameter. So shapes are inferred in an order of their own
(``shape_order``): the execution order with each such link into a parameter pin turned around, the fed
layer first. A link that cannot be turned around, because the fed layer's inputs come from the Parameter
too, is a size that depends on itself; the Parameter then keeps its place and its size is an error, as
are a Parameter that reaches no parameter pin and one that reaches pins of different shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from ..layers.catalog import ShapeError, format_shape
from .model import Layer


@dataclass(frozen=True)
class Feed:
    """A parameter pin a layer's output reaches: ``pin`` of layer ``layer``, linked from layer ``via``
    (the layer itself, or the last of the layers that keep its shape on the way)."""

    layer: str
    pin: str
    via: str


Feeds = Mapping[str, list[Feed]]  # a layer whose size is left out -> the parameter pins it reaches


def sized_by_pin(layer: Layer) -> bool:
    """Whether the layer's size is left out and so is the shape of the parameter pin it feeds."""
    prop = layer.type.size_from_pin
    return prop is not None and layer.props.get(prop) is None and prop not in layer.expressions


def parameter_feeds(layers: Mapping[str, Layer]) -> dict[str, list[Feed]]:
    """For each layer whose size is the shape of a pin it feeds: the parameter pins its output reaches,
    directly or through layers that keep the shape (one input, computed value by value)."""
    keeping: nx.DiGraph = nx.DiGraph()  # from a layer to the layers that keep its shape on
    pins: dict[str, list[Feed]] = {}  # a layer -> the parameter pins it is linked to
    for name, layer in layers.items():
        if layer.type.elementwise and len(layer.inputs) == 1:
            keeping.add_edge(layer.inputs[0], name)
        for pin, source in layer.fed_parameters().items():
            pins.setdefault(source, []).append(Feed(name, pin, source))
    feeds: dict[str, list[Feed]] = {}
    for name, layer in layers.items():
        if sized_by_pin(layer):
            passed_on = sorted(nx.descendants(keeping, name)) if name in keeping else []
            feeds[name] = [feed for via in (name, *passed_on) for feed in pins.get(via, [])]
    return feeds


def shape_order(order: tuple[str, ...], layers: Mapping[str, Layer], feeds: Feeds) -> tuple[tuple[str, ...], set[str]]:
    """The order to infer shapes in, and the layers whose size would depend on their own output.

    ``order`` with every link into a parameter pin of ``feeds`` turned around (the fed layer before the
    layer whose size it gives), so that the fed layer's parameter shapes are known first; ties keep
    ``order``'s order. A layer whose turned links close a cycle (its output also reaches an input of a
    layer it gives a parameter) keeps its links and is returned among the circular ones."""
    position = {name: n for n, name in enumerate(order)}
    circular: set[str] = set()
    while True:
        turned = {
            (feed.via, feed.layer, feed.pin): sized for sized in feeds if sized not in circular for feed in feeds[sized]
        }
        graph = _shape_graph(order, layers, turned)
        if nx.is_directed_acyclic_graph(graph):
            return tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__)), circular
        for component in nx.strongly_connected_components(graph):
            circular |= {name for name in component if len(component) > 1 and name in feeds}


def _shape_graph(
    order: tuple[str, ...], layers: Mapping[str, Layer], turned: Mapping[tuple[str, str, str], str]
) -> nx.DiGraph:
    """The layers' links, with each (source, layer, pin) link of ``turned`` replaced by one from the
    layer to the layer whose size it gives."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(order)
    for name in order:
        layer = layers[name]
        for source in layer.inputs:
            if source in graph:
                graph.add_edge(source, name)
        for pin, source in layer.side_inputs().items():
            if source not in graph:
                continue  # an unknown name: reported where the layers are wired
            sized = turned.get((source, name, pin))
            if sized is not None:
                graph.add_edge(name, sized)
            else:
                graph.add_edge(source, name)
    return graph


def pin_size(layer: Layer, layers: Mapping[str, Layer], feeds: Feeds, circular: set[str]) -> tuple[int, ...] | None:
    """The shape of the parameter pins the layer feeds, which its left-out size stands for; None where a
    fed layer's shapes could not be inferred (its error is reported). Raises ShapeError when there is no
    one such shape."""
    prop = layer.type.size_from_pin or "size"
    left_out = f"{prop} is left out, so it is NNC's default *GraphOutput, the shape of the parameter pin it feeds"
    if layer.name in circular:
        pins = ", ".join(_pin_title(feed.pin, layers[feed.layer]) for feed in feeds[layer.name])
        raise ShapeError(
            f"{left_out} ({pins}), but that layer's input comes from this layer's output too, so the shape "
            f"would depend on itself: write {prop}",
            prop,
        )
    shapes: dict[str, tuple[int, ...]] = {}
    for feed in feeds[layer.name]:
        fed = layers[feed.layer]
        if fed.shape is None:
            return None
        if feed.pin in fed.parameter_shapes:  # not a parameter its properties switch off (with_bias: false)
            shapes[_pin_title(feed.pin, fed)] = fed.parameter_shapes[feed.pin]
    if not shapes:
        raise ShapeError(
            f"{left_out}, and its output reaches none (link it into a layer's parameter, W: {{input: "
            f"{layer.name}}}, directly or through layers that keep its shape, or write {prop})",
            prop,
        )
    if len(set(shapes.values())) > 1:
        found = ", ".join(f"{title} {format_shape(shape)}" for title, shape in shapes.items())
        raise ShapeError(f"{left_out}, but it feeds pins of different shapes: {found}; write {prop}", prop)
    return next(iter(shapes.values()))


def _pin_title(pin: str, layer: Layer) -> str:
    return f"{pin} of layer {layer.title}"
