"""ONNX models read as nnspec specs: operators become NNC layers, initializers their parameters.

An ``.onnx`` file is a protobuf ``ModelProto``, parsed by the onnx package (the optional ``onnx``
extra, imported only when such a file is read). What it means in nnspec terms:

- Every graph input that no initializer fills is data: an Input layer, its size the input's shape
  less the leading (batch) axis. The batch is relaxed: nnspec's specs hold no batch axis, so a model
  written for batch 1 runs on any number of samples wherever its operators do not fix it.
- Each node becomes one NNC layer named after the tensor it writes (ONNX tensor names are unique;
  characters nnspec's names refuse become ``_``), axes less 1 for the batch axis. The table
  ``_OPERATORS`` is the mapping; docs/onnx.md lists it.
- Constant subgraphs (initializers, ``Constant``, ``ConstantOfShape`` and the shape arithmetic on them,
  as the onnx package's "light" models store their weights) are folded into arrays before layers are
  made, so a weight computed from constants is a parameter like any other.
- Weights become the layer's parameters under nnabla's names (``conv1/conv/W``: the layer's name is
  its scope), in nnabla's layouts (a Gemm's B becomes Affine's W of shape (inputs, outputs)).
  ``nnspec run model.onnx`` runs on them (``parameters``), as ``run model.nnp`` runs on an .nnp's.
- A constant operand of Add/Mul/Sub/Div becomes a scalar layer (AddScalar, MulScalar...) when it holds
  one value, else a Parameter layer holding it.
- What nnabla's converter writes for one NNC layer is read back as that layer: Softmax, LogSoftmax and
  LayerNormalization decomposed into arithmetic, a pool's padding as a Pad before it, a
  DepthwiseConvolution as a grouped Conv, the Reshapes it puts around a Gemm or a BatchNormalization.
  A scope kept in the initializers' names (``encoder/affine/W``) other than the layer's name becomes its
  ``parameter_scope``; float32 attributes are given as their shortest decimal (epsilon 1e-05).
- Operators with no NNC counterpart (or attributes nnspec cannot honour) are errors, every one at once,
  located by node: a binary file has no lines, so a diagnostic's line is the node's index + 1 in the
  graph (``model.onnx:12:1`` is node 11) and its message names the node and op.

Reading is bounded: the file's size is checked before it is read (NNSPEC_MAX_NNP_SIZE, as an .nnp's),
external data must lie in the model's folder (symlinks resolved; nnspec.files.confine) and within the
file it names, no constant may declare more than 2^28 values (``MAX_TENSOR_VALUES``), and the graph
may hold at most 20,000 nodes, inputs, outputs and initializers each (``MAX_ENTRIES``), and declare no
tensor of more than 32 axes (``MAX_AXES``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import codes
from ..core.diagnostics import Diagnostic, SpecError, UsageError
from ..core.extras import optional_module
from ..core.printable import printable
from .loader import Document, SourceMap
from .schema import FORMAT_VERSION

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
MAX_TENSOR_VALUES = 2**28  # 1 GiB of float32: a declared shape beyond it is refused before any array is made
# Each node and graph input becomes a layer: as many as an NNC project's network may hold (sdcproj.MAX_LAYERS);
# a graph's other lists are held to it too (100,000 graph inputs took a minute to refuse, 20,000 fifteen seconds)
MAX_ENTRIES = 20_000
# A sample holds at most 31 axes (numpy's 32 with the batch axis): a declared shape of more can never
# translate, and 100,000 axes took onnx's shape inference seconds and 200 MB
MAX_AXES = 32


class OnnxProblem(Exception):
    """One node nnspec cannot translate: why, in words naming the attribute or operand."""


def _onnx() -> Any:
    return optional_module("onnx", "onnx", "reading .onnx files")


# --- the file -------------------------------------------------------------------------------------


def load_model(path: str) -> Any:
    """The ModelProto of ``path``, read within the size limit, its external data loaded from the
    model's folder only."""
    from ..files.nnpfile import NNP_SIZE_VARIABLE, nnp_size_limit
    from ..files.rows import file_problem

    onnx = _onnx()
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    limit = nnp_size_limit()
    size = os.path.getsize(path)
    if size > limit:
        raise UsageError(
            f"{path}: an ONNX model may hold {limit:,} bytes; this one is {size:,}: raise the limit with "
            f"{NNP_SIZE_VARIABLE}=SIZE (e.g. 4G)"
        )
    with open(path, "rb") as handle:
        raw = handle.read(limit + 1)
    try:
        model = onnx.load_model_from_string(raw)
    except Exception as exc:  # the protobuf library's DecodeError, and whatever a corrupt file raises
        raise SpecError(
            [_located(path, 0, f"not an ONNX model: {printable(str(exc)[:200])}", codes.ONNX_MODEL)]
        ) from None
    _check_counts(model, path)
    _decode_names(model)
    _load_external(model, path)
    return model


def _check_counts(model: Any, path: str) -> None:
    """The graph's lists (nodes, inputs, outputs, initializers) within MAX_ENTRIES each, and its
    declared shapes within MAX_AXES, before any of them is read: a file well within its size limit
    may list a hundred thousand inputs, or a tensor of a hundred thousand axes."""
    graph = model.graph
    for what, entries in (
        ("nodes", graph.node),
        ("graph inputs", graph.input),
        ("graph outputs", graph.output),
        ("initializers", graph.initializer),
    ):
        if len(entries) > MAX_ENTRIES:
            message = f"the graph holds {len(entries):,} {what}; nnspec reads at most {MAX_ENTRIES:,}"
            raise SpecError([_located(path, 0, message, codes.ONNX_MODEL)])
    declared = [(info.name, len(info.type.tensor_type.shape.dim)) for info in [*graph.input, *graph.output]]
    declared += [(info.name, len(info.type.tensor_type.shape.dim)) for info in graph.value_info]
    declared += [(tensor.name, len(tensor.dims)) for tensor in graph.initializer]
    for name, axes in declared:
        if axes > MAX_AXES:
            message = f"tensor '{printable(_text(name))}' declares {axes:,} axes; nnspec takes at most {MAX_AXES}"
            raise SpecError([_located(path, 0, message, codes.ONNX_MODEL)])


def _text(value: Any) -> str:
    """A protobuf string as text: the protobuf library gives bytes for one that is not UTF-8."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _decode_names(model: Any) -> None:
    """Every name the translation reads, made text (U+FFFD for bytes that are not UTF-8)."""
    graph = model.graph
    model.producer_name = _text(model.producer_name)
    graph.name = _text(graph.name)
    for opset in model.opset_import:
        opset.domain = _text(opset.domain)
    for info in [*graph.input, *graph.output, *graph.value_info]:
        info.name = _text(info.name)
    for tensor in graph.initializer:
        tensor.name = _text(tensor.name)
        for entry in tensor.external_data:
            entry.key, entry.value = _text(entry.key), _text(entry.value)
    for node in graph.node:
        node.name, node.op_type, node.domain = _text(node.name), _text(node.op_type), _text(node.domain)
        inputs, outputs = [_text(n) for n in node.input], [_text(n) for n in node.output]
        del node.input[:], node.output[:]
        node.input.extend(inputs)
        node.output.extend(outputs)
        for attribute in node.attribute:
            attribute.name = _text(attribute.name)


def _load_external(model: Any, path: str) -> None:
    """Initializers stored in files beside the model: each location resolved under the model's own
    folder (a path leaving it is refused, as a missing one is), and read within its length."""
    for tensor in model.graph.initializer:
        if tensor.data_location != 1:  # TensorProto.EXTERNAL
            continue
        try:
            tensor.raw_data = _external_bytes(tensor, path)
        except OnnxProblem as exc:
            message = f"initializer '{printable(tensor.name)}': external data {exc}"
            raise SpecError([_located(path, 0, message, codes.ONNX_MODEL)]) from None
        tensor.data_location = 0
        del tensor.external_data[:]


def _external_bytes(tensor: Any, path: str) -> bytes:
    from ..files.confine import Confinement, OutsideRoots

    folder = Path(os.path.realpath(Path(path).parent))
    entries = {item.key: item.value for item in tensor.external_data}
    location = entries.get("location", "")
    try:
        real = Confinement((folder,)).file(folder / location)
    except OutsideRoots as exc:
        raise OnnxProblem(f"'{printable(location)}' {exc}") from None
    declared = _count(tensor.dims) * _item_size(tensor.data_type)
    try:
        offset, length = int(entries.get("offset") or 0), int(entries.get("length") or declared)
    except ValueError:
        raise OnnxProblem("offset and length must be whole numbers") from None
    if length != declared or offset < 0 or offset + length > os.path.getsize(real):
        raise OnnxProblem(f"'{printable(location)}' does not hold the tensor's {declared:,} bytes at {offset:,}")
    with open(real, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _item_size(data_type: int) -> int:
    return {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8}.get(data_type, 8)


def _count(dims: Any) -> int:
    total = 1
    for n in dims:
        if n < 0:
            raise OnnxProblem(f"a negative dimension {n}")
        total *= int(n)
    return total


def _located(file: str, index: int, message: str, code: str = codes.ONNX_UNSUPPORTED) -> Diagnostic:
    """A diagnostic at node ``index`` (0: the model as a whole): line index + 1, column 1."""
    return Diagnostic(message, file, index + 1, 1, code=code)


# --- the translation -------------------------------------------------------------------------------


@dataclass
class Translation:
    """A model as a spec: its data, where each layer came from, and its parameters by nnabla name."""

    data: dict[str, Any]
    places: dict[tuple, tuple[int, int]]
    parameters: dict[str, np.ndarray]


def read_file(path: str) -> Document:
    """An .onnx file as a spec Document."""
    translation = translate(load_model(path), path)
    source_map = SourceMap()
    for key, place in translation.places.items():
        source_map.values[key] = place
        source_map.keys[key] = place
    source_map.values[()] = (1, 1)
    return Document(translation.data, source_map, path)


def parameters(path: str) -> dict[str, np.ndarray]:
    """The parameters of an .onnx model by the names its spec's layers look them up by."""
    return translate(load_model(path), path).parameters


def translate(model: Any, file: str) -> Translation:
    return _Translator(model, file).translation()


@dataclass
class _Node:
    index: int  # in the graph, for locations
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)


def _attributes(onnx: Any, node: Any) -> dict[str, Any]:
    """A node's attributes by name; one of no type onnx knows is left out (its operator's translation
    then finds it missing and says so)."""
    found = {}
    for attribute in node.attribute:
        try:
            found[attribute.name] = onnx.helper.get_attribute_value(attribute)
        except ValueError:
            continue
    return found


class _Translator:
    def __init__(self, model: Any, file: str) -> None:
        onnx = _onnx()
        self.onnx = onnx
        self.file = file
        self.model = model
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.constants: dict[str, np.ndarray] = {}
        self.diagnostics: list[Diagnostic] = []
        for tensor in graph.initializer:
            try:
                _count(tensor.dims) <= MAX_TENSOR_VALUES or _raise(f"declares {_count(tensor.dims):,} values")
                self.constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
            except Exception as exc:
                self.diagnostics.append(
                    _located(
                        file,
                        0,
                        f"initializer '{printable(tensor.name)}': {printable(str(exc)[:200])}",
                        codes.ONNX_MODEL,
                    )
                )
        self.nodes = [
            _Node(
                i,
                node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}",
                node.name,
                list(node.input),
                list(node.output),
                _attributes(onnx, node),
            )
            for i, node in enumerate(graph.node)
        ]
        self.shapes = self._shapes()
        self.layers: list[dict[str, Any]] = []
        self.places: dict[tuple, tuple[int, int]] = {}
        self.params: dict[str, np.ndarray] = {}
        self.layer_of: dict[str, str] = {}  # tensor -> the layer giving its value
        self.taken: set[str] = set()
        self.renamed: dict[str, str] = {}
        self.consumers: dict[str, list[_Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {info.name for info in graph.output}
        self.initializers = {tensor.name for tensor in graph.initializer}
        self.passed: dict[str, str] = {}  # tensor -> the tensor whose layer gives it (a Reshape, Pad nnabla added)
        self.folded_pads: dict[str, tuple[list[int], list[int]]] = {}  # Pad output -> a pool's (begin, end) pads
        self.failed: set[str] = set()  # tensors of nodes already reported: their readers say nothing more
        self.absorbed: set[int] = set()  # nodes of a pattern one layer computes (a decomposed Softmax)
        self.fused: dict[int, str] = {}  # node index -> the tensor whose layer computes it too (MatMul + Add)

    # --- shapes ----------------------------------------------------------------------------------
    def _shapes(self) -> dict[str, list[int]]:
        """Every tensor's shape as the onnx package infers it (static dims; a symbolic dim is 0)."""
        try:
            inferred = self.onnx.shape_inference.infer_shapes(self.model, data_prop=True).graph
        except Exception:  # inference refuses some models that still translate
            inferred = self.model.graph
        shapes: dict[str, list[int]] = {}
        for info in [*inferred.input, *inferred.value_info, *inferred.output]:
            tensor_type = info.type.tensor_type
            if tensor_type.HasField("shape"):
                shapes[info.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in tensor_type.shape.dim]
        return shapes

    # --- names -----------------------------------------------------------------------------------
    def _name(self, original: str) -> str:
        name = original
        if not _NAME.fullmatch(name):
            name = re.sub(r"[^A-Za-z0-9_']", "_", name) or "_"
            if not _NAME.match(name):
                name = "_" + name
        base, count = name, 1
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        if name != original:
            self.renamed[original] = name
        return name

    # --- the spec --------------------------------------------------------------------------------
    def translation(self) -> Translation:
        graph = self.model.graph
        self._fold()
        for info in graph.input:
            if info.name in self.constants:
                continue
            self._input(info)
        for node in self.nodes:
            if all(out in self.constants for out in node.outputs):
                continue  # folded
            if node.index in self.absorbed:
                continue
            if node.index in self.fused:
                if self.fused[node.index] in self.layer_of:
                    self.layer_of[node.outputs[0]] = self.layer_of[self.fused[node.index]]
                continue
            self._node(node)
        outputs = []
        for info in graph.output:
            layer = self.layer_of.get(info.name)
            if layer is None and info.name in self.constants:
                self.diagnostics.append(
                    _located(
                        self.file,
                        0,
                        f"graph output '{printable(info.name)}' is a constant: nnspec's outputs are layers",
                    )
                )
                continue
            if layer is not None:
                outputs.append(layer)
            elif info.name not in self.failed:  # else its node's own diagnostic says why
                message = f"graph output '{printable(info.name)}' is written by no node"
                self.diagnostics.append(_located(self.file, 0, message))
        if not self.layers and not self.diagnostics:  # an empty file is an empty ModelProto to protobuf
            self.diagnostics.append(
                _located(self.file, 0, "the model's graph holds no input and no node", codes.ONNX_MODEL)
            )
        if self.diagnostics:
            raise SpecError(self.diagnostics)
        data: dict[str, Any] = {
            "nnspec": FORMAT_VERSION,
            "name": self._model_name(),
            "description": self._description(),
        }
        data["layers"] = self.layers
        if outputs:
            data["outputs"] = outputs
        return Translation(data, self.places, self.params)

    def _model_name(self) -> str:
        return self.model.graph.name or Path(self.file).stem

    def _description(self) -> str:
        producer = self.model.producer_name or "unknown"
        text = f"Read from ONNX (opset {self.opset}, written by {printable(producer)})."
        if self.renamed:
            text += (
                " Names changed to nnspec's: "
                + ", ".join(f"{printable(old)} -> {new}" for old, new in self.renamed.items())
                + "."
            )
        return text

    def _input(self, info: Any) -> None:
        shape = self.shapes.get(info.name, [])
        if info.type.tensor_type.elem_type not in (1, 10, 11) and not self._indices_only(info.name):
            kind = _type_name(self.onnx, info.type.tensor_type.elem_type)
            self.diagnostics.append(
                _located(
                    self.file, 0, f"graph input '{printable(info.name)}' holds {kind}: nnspec's data are floating point"
                )
            )
            self.failed.add(info.name)
            return
        size = [max(n, 1) for n in shape[1:]] or [1]
        self._add({"name": self._name(info.name), "type": "Input", "size": size}, info.name, 0)

    def _indices_only(self, name: str) -> bool:
        """Whether a graph input is read only as the indices of Gathers (an Embed's class indices)."""
        readers = self.consumers.get(name, [])
        return bool(readers) and all(node.op == "Gather" and node.inputs[1:2] == [name] for node in readers)

    def _add(self, layer: dict[str, Any], output: str, index: int) -> str:
        position = len(self.layers)
        self.layers.append(layer)
        self.layer_of[output] = layer["name"]
        for key in ("", "name", "type", "input", *layer):
            self.places[("layers", position) + ((key,) if key else ())] = (index + 1, 1)
        return layer["name"]

    # --- constant folding ------------------------------------------------------------------------
    def _fold(self) -> None:
        """Nodes all of whose inputs are constants, computed once here (in graph order)."""
        for node in self.nodes:
            inputs = [name for name in node.inputs if name]
            if node.op != "Constant" and not (inputs and all(name in self.constants for name in inputs)):
                continue
            folder = _FOLDERS.get(node.op)
            if folder is None:
                continue
            try:
                values = folder(self, node, [self.constants[name] if name else None for name in node.inputs])
            except OnnxProblem as exc:
                self._problem(node, str(exc))
                continue
            except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError) as exc:
                self._problem(node, f"cannot be computed from its constants: {printable(str(exc)[:200])}")
                continue
            for name, value in zip(node.outputs, values):
                self.constants[name] = value

    def _problem(self, node: _Node, reason: str) -> None:
        label = f"'{printable(node.name)}' " if node.name else ""
        self.diagnostics.append(_located(self.file, node.index, f"node {node.index} {label}({node.op}): {reason}"))
        self.failed.update(node.outputs)

    # --- one node --------------------------------------------------------------------------------
    def _node(self, node: _Node) -> None:
        translate_node = _OPERATORS.get(node.op)
        if translate_node is None:
            self._problem(node, f"the operator {printable(node.op)} has no NNC layer type in nnspec")
            return
        missing = [name for name in node.inputs if name and name not in self.layer_of and name not in self.constants]
        if any(name in self.failed for name in missing):
            self.failed.update(node.outputs)  # its input failed to translate: that node's diagnostic says why
            return
        if missing:
            self._problem(
                node,
                f"reads '{printable(missing[0])}', which no graph input, initializer or earlier node holds "
                "(an ONNX graph lists its nodes in the order they run)",
            )
            return
        try:
            layer = translate_node(self, node)
        except OnnxProblem as exc:
            self._problem(node, str(exc))
            return
        except KeyError as exc:  # a required attribute missing
            self._problem(node, f"lacks its attribute {printable(str(exc))}")
            return
        except (IndexError, ValueError, TypeError, ArithmeticError) as exc:  # an input missing, a bad attribute
            self._problem(node, f"is malformed: {printable(str(exc)[:200])}")
            return
        if layer is None:  # Identity-like: the output is the input's layer (Split: its own layers, made)
            self.layer_of.setdefault(node.outputs[0], self.layer_of[node.inputs[0]])
            return
        output = layer.pop("_output", node.outputs[0])  # a pattern's layer: named as the tensor it ends in
        params = layer.pop("_params", {})
        scope = _scope(params, layer.pop("_reads", node.inputs))
        name = self._name(output)
        layer = {"name": name, **layer}
        if scope is not None and scope != name:
            layer["parameter_scope"] = scope  # nnabla's names kept: --save-params writes them as they came
        for suffix, value in params.items():
            self.params[suffix.format(scope=scope or name)] = np.asarray(value, dtype=np.float32)
        self._add(layer, output, node.index)

    # helpers the operator table uses
    def source(self, node: _Node, position: int = 0) -> str:
        name = node.inputs[position]
        if name in self.constants:
            return self.parameter_layer(node, self.constants[name])
        return self.layer_of[name]

    def extra_layer(self, node: _Node, suffix: str, layer: dict[str, Any]) -> str:
        """A layer of the several one node becomes (the last is the node's own), named after the
        node's output and ``suffix``."""
        name = self._name(f"{node.outputs[0]}_{suffix}")
        self._add({"name": name, **layer}, name, node.index)
        return name

    def parameter_layer(self, node: _Node, value: np.ndarray) -> str:
        """A constant operand as a Parameter layer holding it, in a sample's shape: ONNX broadcasts
        from the right, nnabla needs as many axes, so a shorter constant gets leading 1s; one with a
        batch axis must hold 1 there (nnspec's samples share their parameters)."""
        array = np.asarray(value, dtype=np.float32)
        rank = len(self.shape(node.outputs[0]))
        if array.ndim == rank:
            if array.shape[0] != 1:
                raise OnnxProblem(f"a constant operand of shape {list(array.shape)} differs from sample to sample")
            array = array[0]
        array = array.reshape((1,) * (rank - 1 - array.ndim) + array.shape) if array.ndim < rank - 1 else array
        name = self._name(f"{node.outputs[0]}_constant")
        self.params[name] = array.reshape(array.shape or (1,))
        self._add({"name": name, "type": "Parameter", "size": list(array.shape) or [1]}, name, node.index)
        return name

    def origin(self, name: str) -> str:
        """The tensor whose layer gives ``name``'s values: itself, or the input of the Reshapes (and
        pooling Pads) nnabla's converter put before it, which no layer computes."""
        while name in self.passed:
            name = self.passed[name]
        return name

    def constant(self, node: _Node, position: int, what: str) -> np.ndarray:
        name = node.inputs[position] if position < len(node.inputs) else ""
        if name not in self.constants:
            raise OnnxProblem(f"its {what} must be a constant (an initializer), not computed in the graph")
        return self.constants[name]

    def optional_constant(self, node: _Node, position: int) -> np.ndarray | None:
        name = node.inputs[position] if position < len(node.inputs) else ""
        if not name:
            return None
        if name not in self.constants:
            raise OnnxProblem(f"its input {position} must be a constant (an initializer)")
        return self.constants[name]

    def shape(self, name: str) -> list[int]:
        shape = self.shapes.get(name)
        if shape is None or (shape[1:] and 0 in shape[1:]):
            raise OnnxProblem(f"the shape of '{printable(name)}' is not known from the model")
        return shape


def _type_name(onnx: Any, elem_type: int) -> str:
    try:
        return str(onnx.TensorProto.DataType.Name(elem_type))
    except ValueError:
        return f"element type {elem_type}"


def _raise(message: str) -> bool:
    raise OnnxProblem(message)


def _decimal(value: Any) -> float:
    """A float32 number as the shortest decimal that reads back to it: ONNX holds float attributes and
    constants in float32, so nnabla's epsilon 1e-05 arrives as 9.99999974e-06, which NNC shows as 1e-05."""
    single = np.float32(value)
    return float(np.format_float_positional(single, unique=True)) if np.isfinite(single) else float(single)


def _scope(params: dict[str, Any], reads: list[str]) -> str | None:
    """The scope nnabla's converter kept in the names of a layer's parameters: the part before nnspec's
    ``/conv/W`` (``conv1`` of ``conv1/conv/W``) of the initializers the layer reads, when they agree."""
    scopes: set[str] = set()
    for key in params:
        suffix = key[len("{scope}") :]
        scopes.update(name[: -len(suffix)] for name in reads if name.endswith(suffix) and len(name) > len(suffix))
    return scopes.pop() if len(scopes) == 1 else None


# --- folding constants ------------------------------------------------------------------------------

Folder = Callable[[_Translator, _Node, list[Any]], list[np.ndarray]]


def _fold_constant(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in node.attributes:
            value = node.attributes[key]
            return [t.onnx.numpy_helper.to_array(value) if key == "value" else np.asarray(value)]
    raise OnnxProblem("a Constant nnspec reads holds value, value_float(s) or value_int(s)")


def _fold_constant_of_shape(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
    shape = [int(n) for n in inputs[0].reshape(-1)]
    if _count(shape) > MAX_TENSOR_VALUES:
        raise OnnxProblem(f"declares a tensor of {_count(shape):,} values")
    value = node.attributes.get("value")
    fill = t.onnx.numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    return [np.full(shape, fill[0], dtype=fill.dtype)]


def _axes(node: _Node, inputs: list[Any]) -> list[int]:
    if len(inputs) > 1 and inputs[1] is not None:
        return [int(a) for a in inputs[1].reshape(-1)]
    return [int(a) for a in node.attributes.get("axes", [])]


def _fold_unsqueeze(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
    value = inputs[0]
    rank = value.ndim + len(_axes(node, inputs))
    for axis in sorted(a % rank for a in _axes(node, inputs)):
        value = np.expand_dims(value, axis)
    return [value]


def _fold_squeeze(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
    axes = _axes(node, inputs)
    return [np.squeeze(inputs[0], axis=tuple(axes) if axes else None)]


def _fold_reshape(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
    shape = [int(n) for n in inputs[1].reshape(-1)]
    shape = [inputs[0].shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return [inputs[0].reshape(shape)]


def _binary(function: Callable[[Any, Any], Any]) -> Folder:
    def fold(t: _Translator, node: _Node, inputs: list[Any]) -> list[np.ndarray]:
        shape = np.broadcast_shapes(np.shape(inputs[0]), np.shape(inputs[1]))
        if _count(shape) > MAX_TENSOR_VALUES:  # two small constants may broadcast to a huge one
            raise OnnxProblem(f"declares a tensor of {_count(shape):,} values")
        return [np.asarray(function(inputs[0], inputs[1]))]

    return fold


def _divide(a: Any, b: Any) -> Any:
    """ONNX's Div: integers truncated toward zero (numpy's // floors)."""
    if np.issubdtype(np.asarray(a).dtype, np.integer):
        return np.trunc(np.true_divide(a, b)).astype(np.asarray(a).dtype)
    return np.true_divide(a, b)


_FOLDERS: dict[str, Folder] = {
    "Constant": _fold_constant,
    "ConstantOfShape": _fold_constant_of_shape,
    "Unsqueeze": _fold_unsqueeze,
    "Squeeze": _fold_squeeze,
    "Reshape": _fold_reshape,
    "Identity": lambda t, node, inputs: [inputs[0]],
    "Cast": lambda t, node, inputs: [inputs[0].astype(t.onnx.helper.tensor_dtype_to_np_dtype(node.attributes["to"]))],
    "Shape": lambda t, node, inputs: [np.asarray(inputs[0].shape, dtype=np.int64)],
    "Transpose": lambda t, node, inputs: [np.transpose(inputs[0], node.attributes.get("perm"))],
    "Concat": lambda t, node, inputs: [np.concatenate(inputs, axis=node.attributes["axis"])],
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_divide),
    "Sqrt": lambda t, node, inputs: [np.sqrt(inputs[0])],
}


# --- operators --------------------------------------------------------------------------------------

Operator = Callable[[_Translator, _Node], "dict[str, Any] | None"]


def _spatial(node: _Node, rank: int, asymmetric: bool = False) -> tuple[list[int], list[int], list[int]]:
    """(padding, strides, dilation) of a Conv or a pool, its pads symmetric (nnabla pads both ends
    alike); with ``asymmetric`` the pads as given, (begin..., end...)."""
    if node.attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise OnnxProblem(f"auto_pad {node.attributes['auto_pad']!r}: give explicit pads (nnabla pads both ends alike)")
    pads = [int(p) for p in node.attributes.get("pads", [0] * (2 * rank))]
    begin, end = pads[:rank], pads[rank:]
    if begin != end and not asymmetric:
        raise OnnxProblem(f"pads {pads} differ at the two ends of an axis: NNC pads both ends alike")
    strides = [int(s) for s in node.attributes.get("strides", [1] * rank)]
    dilations = [int(d) for d in node.attributes.get("dilations", [1] * rank)]
    return pads if asymmetric else begin, strides, dilations


def _conv(t: _Translator, node: _Node) -> dict[str, Any]:
    weight = t.constant(node, 1, "weight W")
    bias = t.optional_constant(node, 2)
    rank = weight.ndim - 2
    padding, strides, dilation = _spatial(node, rank)
    group = int(node.attributes.get("group", 1))
    if _depthwise(t, node, weight, group):
        return _depthwise_convolution(t, node, weight, bias, padding, strides, dilation)
    params = {"{scope}/conv/W": weight}
    if bias is not None:
        params["{scope}/conv/b"] = bias
    return {
        "type": "Convolution",
        "input": t.source(node),
        "out_maps": int(weight.shape[0]),
        "kernel_shape": [int(k) for k in weight.shape[2:]],
        "padding": padding,
        "strides": strides,
        "dilation": dilation,
        "group": group,
        "with_bias": bias is not None,
        "_params": params,
    }


def _depthwise(t: _Translator, node: _Node, weight: np.ndarray, group: int) -> bool:
    """Whether a Conv is a DepthwiseConvolution, as nnabla's converter writes one: a group per input map
    (each output map reading one input map), over 1 or 2 spatial axes (NNC's depthwise ones)."""
    channels = t.shape(node.inputs[0])[1]
    hinted = node.inputs[1].endswith("/depthwise_conv/W")  # a single map: only the name tells
    return (group > 1 or hinted) and group == channels and weight.shape[1] == 1 and weight.ndim in (3, 4)


def _depthwise_convolution(
    t: _Translator,
    node: _Node,
    weight: np.ndarray,
    bias: np.ndarray | None,
    padding: list[int],
    strides: list[int],
    dilation: list[int],
) -> dict[str, Any]:
    channels = t.shape(node.inputs[0])[1]
    params = {"{scope}/depthwise_conv/W": weight.reshape((weight.shape[0], *weight.shape[2:]))}
    if bias is not None:
        params["{scope}/depthwise_conv/b"] = bias
    return {
        "type": "DepthwiseConvolution",
        "input": t.source(node),
        "kernel_shape": [int(k) for k in weight.shape[2:]],
        "padding": padding,
        "strides": strides,
        "dilation": dilation,
        "multiplier": int(weight.shape[0]) // channels,
        "with_bias": bias is not None,
        "_params": params,
    }


def _conv_transpose(t: _Translator, node: _Node) -> dict[str, Any]:
    weight = t.constant(node, 1, "weight W")
    bias = t.optional_constant(node, 2)
    rank = weight.ndim - 2
    pads, strides, dilation = _spatial(node, rank, asymmetric=True)
    if "output_shape" in node.attributes:
        raise OnnxProblem("output_shape has no Deconvolution property: give pads and output_padding")
    extra = [int(n) for n in node.attributes.get("output_padding", [0] * rank)]
    group = int(node.attributes.get("group", 1))
    params = {"{scope}/deconv/W": weight}
    if bias is not None:
        params["{scope}/deconv/b"] = bias
    layer = {
        "type": "Deconvolution",
        "input": t.source(node),
        "out_maps": int(weight.shape[1]) * group,
        "kernel_shape": [int(k) for k in weight.shape[2:]],
        "padding": pads[:rank],
        "strides": strides,
        "dilation": dilation,
        "group": group,
        "with_bias": bias is not None,
        "_params": params,
    }
    begin, end = pads[:rank], [e - x for e, x in zip(pads[rank:], extra)]
    if begin == end:
        return layer
    if any(e < 0 for e in end):
        raise OnnxProblem("output_padding beyond the end pads reaches past the full output: no Deconvolution form")
    # NNC crops both ends alike: the full output (padding 0), then a Slice cropping ONNX's ends,
    # output_padding giving back values at the end, holds ONNX's exactly
    full = t.extra_layer(node, "full", {**{k: v for k, v in layer.items() if k != "_params"}, "padding": [0] * rank})
    t.params.update({key.format(scope=full): np.asarray(value, np.float32) for key, value in params.items()})
    shape = t.shape(node.outputs[0])
    start = [0, *begin]
    return {
        "type": "Slice",
        "input": full,
        "start": start,
        "stop": [n + b for n, b in zip(shape[1:], start)],
        "step": [1] * (len(shape) - 1),
    }


def _gemm(t: _Translator, node: _Node) -> dict[str, Any]:
    if node.attributes.get("transA", 0):
        raise OnnxProblem("transA 1: Affine multiplies its input as it comes")
    if len(t.shape(node.inputs[0])) != 2:
        raise OnnxProblem("its input A must be a matrix (batch, features)")
    with np.errstate(over="ignore", invalid="ignore"):  # alpha * B beyond float32 is inf, as ONNX computes it
        weight = t.constant(node, 1, "weight B") * np.float32(node.attributes.get("alpha", 1.0))
    if node.attributes.get("transB", 0):
        weight = weight.T
    outputs = int(weight.shape[1])
    bias = t.optional_constant(node, 2)
    if bias is not None and not np.any(bias) and node.inputs[2].startswith("affine_bias_"):
        bias = None  # the zeros nnabla's converter gives an Affine without bias (its own name for them)
    if bias is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            bias = np.broadcast_to(bias * np.float32(node.attributes.get("beta", 1.0)), (1, outputs)).reshape(-1)
    layer: dict[str, Any] = {"type": "Affine", "input": t.source(node), "out_shape": outputs}
    reshape = _only_reader(t, node.outputs[0], "Reshape")
    out_shape = t.shape(reshape.outputs[0])[1:] if reshape is not None else []
    if reshape is not None and len(out_shape) > 1 and math.prod(out_shape) == outputs:
        # nnabla's converter writes an Affine of out_shape (2, 3) as a Gemm of 6, then a Reshape
        t.absorbed.add(reshape.index)
        layer.update(out_shape=[int(n) for n in out_shape], _output=reshape.outputs[0])
        weight, bias = weight.reshape((-1, *out_shape)), None if bias is None else bias.reshape(out_shape)
    params = {"{scope}/affine/W": weight}
    if bias is not None:
        params["{scope}/affine/b"] = bias
    return {**layer, "with_bias": bias is not None, "_params": params}


def _matmul(t: _Translator, node: _Node) -> dict[str, Any]:
    if node.inputs[1] not in t.constants or len(t.shape(node.inputs[0])) != 2:
        raise OnnxProblem("only a matrix input times a constant matrix maps onto Affine")
    weight = t.constants[node.inputs[1]]
    if weight.ndim != 2:
        raise OnnxProblem("its second operand must be a matrix")
    params = {"{scope}/affine/W": weight}
    bias = _bias_add(t, node, int(weight.shape[1]))
    if bias is not None:
        params["{scope}/affine/b"] = bias
    return {
        "type": "Affine",
        "input": t.source(node),
        "out_shape": int(weight.shape[1]),
        "with_bias": bias is not None,
        "_params": params,
    }


def _bias_add(t: _Translator, node: _Node, outputs: int) -> np.ndarray | None:
    """The bias of a MatMul whose product only an Add of a constant (outputs,) reads: one Affine
    computes both, as exporters split it (that Add's node is then skipped, its tensor the Affine's)."""
    product = node.outputs[0]
    readers = t.consumers.get(product, [])
    if product in t.outputs or len(readers) != 1 or readers[0].op != "Add":
        return None
    add = readers[0]
    other = add.inputs[1] if add.inputs[0] == product else add.inputs[0]
    bias = t.constants.get(other)
    if bias is None or bias.size != outputs or bias.shape[-1:] != (outputs,):
        return None
    t.fused[add.index] = product
    return bias.reshape(-1)


def _batch_norm(t: _Translator, node: _Node) -> dict[str, Any]:
    if len(node.outputs) > 1 and any(node.outputs[1:]) or node.attributes.get("training_mode", 0):
        raise OnnxProblem("training mode (running statistics as outputs) has no NNC form")
    source = t.origin(node.inputs[0])
    shape = t.shape(source)
    names = ("gamma", "beta", "mean", "var")
    values = [t.constant(node, i + 1, name) for i, name in enumerate(names)]
    layer = {
        "type": "BatchNormalization",
        "input": t.source(node),
        "axes": [0],
        "epsilon": _decimal(node.attributes.get("epsilon", 1e-5)),
        "batch_stat": False,  # ONNX's (inference) BatchNormalization always takes its stored statistics
        "_params": {
            f"{{scope}}/bn/{name}": value.reshape((1, -1) + (1,) * (len(shape) - 2))
            for name, value in zip(names, values)
        },
    }
    back = _reshaped_back(t, node, shape) if source != node.inputs[0] else None
    if back is not None:  # the Reshape back from the 4-D tensor nnabla's converter gives ONNX's BatchNormalization
        t.absorbed.add(back.index)
        layer["_output"] = back.outputs[0]
    return layer


def _reshaped_back(t: _Translator, node: _Node, shape: list[int]) -> _Node | None:
    """The Reshape that alone reads ``node``'s output and gives it ``shape`` again, if there is one."""
    back = _only_reader(t, node.outputs[0], "Reshape")
    return back if back is not None and t.shapes.get(back.outputs[0]) == shape else None


def _wraps_a_layer(t: _Translator, node: _Node) -> bool:
    """Whether a Reshape is one nnabla's converter adds for an ONNX operator that wants another rank
    where the NNC layer does not: an Affine's input flattened to (batch, features) for the Gemm (NNC's
    Affine flattens its input itself), or a vector given axes of 1 for a BatchNormalization and reshaped
    back after it. Such a Reshape is no layer. The converter takes its shape from an initializer, where
    an NNC Reshape layer's is a Constant node: a Reshape the network holds stays a layer."""
    out = node.outputs[0]
    readers = t.consumers.get(out, [])
    if out in t.outputs or len(readers) != 1 or node.inputs[0] in t.constants or readers[0].inputs[0] != out:
        return False
    if len(node.inputs) < 2 or node.inputs[1] not in t.initializers:
        return False
    reader, source, shape = readers[0], t.shape(node.inputs[0]), t.shape(out)
    if reader.op == "Gemm":
        return len(shape) == 2 and shape[0] == source[0] and not reader.attributes.get("transA", 0)
    if reader.op == "BatchNormalization":
        padded = shape[: len(source)] == source and all(n == 1 for n in shape[len(source) :])
        return padded and _reshaped_back(t, reader, source) is not None
    return False


def _pool(kind: str) -> Operator:
    def translate(t: _Translator, node: _Node) -> dict[str, Any]:
        kernel = [int(k) for k in node.attributes["kernel_shape"]]
        rank = len(kernel)
        pads, strides, dilation = _spatial(node, rank, asymmetric=True)
        padded = t.folded_pads.get(node.inputs[0])
        if padded is not None:  # a Pad before it (nnabla's converter's form): its padding
            pads = padded[0] + padded[1]
        if node.attributes.get("ceil_mode", 0):
            raise OnnxProblem("ceil_mode 1 has no NNC pooling property")
        if node.attributes.get("storage_order", 0) or len(node.outputs) > 1 and node.outputs[1]:
            raise OnnxProblem("indices as an output have no NNC form")
        source, sample = t.source(node), t.shape(t.origin(node.inputs[0]))[1:]
        if any(d != 1 for d in dilation):
            if kind != "MaxPooling":
                raise OnnxProblem("dilations other than 1 have no NNC pooling property")
            source, strides, sample = _undilated(t, node, source, sample, kernel, strides, dilation, pads)
            pads = [0] * 2 * rank
        layer: dict[str, Any] = {"type": kind, "input": source}
        if rank != 1:
            return _pooled(t, node, layer, kernel, strides, pads[:rank], pads[rank:])
        # NNC pools 2 or 3 axes: a 1-D pool is a 2-D one over (1, L), reshaped there and back
        channels, length = sample
        layer["input"] = t.extra_layer(
            node, "2d", {"type": "Reshape", "input": layer["input"], "out_shape": [channels, 1, length]}
        )
        pooled = _pooled(t, node, layer, [1, *kernel], [1, *strides], [0, pads[0]], [0, pads[1]])
        pooled_name = t.extra_layer(node, "pooled", pooled)
        return {"type": "Reshape", "input": pooled_name, "out_shape": t.shape(node.outputs[0])[1:]}

    return translate


def _undilated(
    t: _Translator,
    node: _Node,
    source: str,
    sample: list[int],
    kernel: list[int],
    strides: list[int],
    dilation: list[int],
    pads: list[int],
) -> tuple[str, list[int], list[int]]:
    """A max pool with dilation d whose stride s is a multiple of d, in NNC layers (which pool without
    dilation): every window, padded input positions i*s + j*d, lies on the positions that are multiples
    of d, and takes k consecutive ones of them. So it is a MaxPooling of stride s/d over every d-th value
    of the input padded with -inf: a Pad, a Slice of step d and the pool; the windows are ONNX's, as
    many. The layer that feeds the pool, its strides and the sample shape it reads."""
    rank = len(kernel)
    if min(strides + dilation) < 1:
        raise OnnxProblem(f"strides {strides} and dilations {dilation} must be 1 or more")
    if any(s % d for s, d in zip(strides, dilation)):
        raise OnnxProblem(
            f"dilations {dilation} with strides {strides}: NNC's pooling has no dilation, and only a stride "
            "that is a multiple of the dilation can be written as a strided Slice and a MaxPooling"
        )
    begin, end = pads[:rank], pads[rank:]
    outer = len(sample) - rank
    if any(pads):
        width = [n for axis in range(rank) for n in (begin[axis], end[axis])]
        pad = {"type": "Pad", "input": source, "pad_width": width, "mode": "constant", "constant_value": -math.inf}
        source = t.extra_layer(node, "pad", pad)
    padded = [*sample[:outer], *(n + b + e for n, b, e in zip(sample[outer:], begin, end))]
    step = [1] * outer + dilation
    sliced = {"type": "Slice", "input": source, "start": [0] * len(padded), "stop": padded, "step": step}
    phase = [-(-n // d) for n, d in zip(padded, step)]
    strides = [s // d for s, d in zip(strides, dilation)]
    out = t.shape(node.outputs[0])[-rank:]
    if [(n - k) // s + 1 for n, k, s in zip(phase[outer:], kernel, strides)] != out:
        raise OnnxProblem(f"dilations {dilation}: its output {out} is not the windows of a strided Slice")
    return t.extra_layer(node, "phase", sliced), strides, phase


def _pooled(
    t: _Translator,
    node: _Node,
    layer: dict[str, Any],
    kernel: list[int],
    strides: list[int],
    begin: list[int],
    end: list[int],
) -> dict[str, Any]:
    rank = len(kernel)
    layer = {**layer, "kernel_shape": kernel, "strides": strides}
    if layer["type"] == "AveragePooling":  # padding from a Pad before it is counted, as that Pad's zeros are
        counted = node.inputs[0] in t.folded_pads or bool(node.attributes.get("count_include_pad", 0))
        layer["including_pad"] = counted
    if begin == end:
        return {**layer, "padding": begin, "ignore_border": True}
    lengths = t.shape(t.origin(node.inputs[0]))[-rank:]
    if layer["type"] == "MaxPooling" and _border_windows(
        lengths, kernel, strides, begin, end, t.shape(node.outputs[0])[-rank:]
    ):
        return {**layer, "padding": begin, "ignore_border": False}
    if layer["type"] == "MaxPooling":
        # NNC pads both ends alike; a max never picks -inf padding, so a Pad layer of -inf first
        # holds ONNX's pads exactly (as nnabla's own converter writes it, the other way round)
        width = [n for axis in range(rank) for n in (begin[axis], end[axis])]
        pad = {"type": "Pad", "input": layer["input"], "pad_width": width, "mode": "constant"}
        layer["input"] = t.extra_layer(node, "pad", {**pad, "constant_value": -math.inf})
        return {**layer, "padding": [0] * rank, "ignore_border": True}
    return _average_padded_at_end(t, node, layer, begin, end)


def _average_padded_at_end(
    t: _Translator, node: _Node, layer: dict[str, Any], begin: list[int], end: list[int]
) -> dict[str, Any]:
    """An average pool padded more at the end than at the start, padding uncounted (Inception v1's
    7x7 pool of a 6x6 map): NNC's ignore_border false takes every window starting inside the padded
    input, each divided by the input values it covers, of which ONNX's windows are the first; a Slice
    keeps them."""
    if layer["including_pad"] or any(b > e for b, e in zip(begin, end)):
        raise OnnxProblem(f"pads {begin + end} differ at the two ends of an axis: NNC pads both ends alike")
    pooled = t.extra_layer(node, "pool", {**layer, "padding": begin, "ignore_border": False})
    shape = t.shape(node.outputs[0])
    return {
        "type": "Slice",
        "input": pooled,
        "start": [0] * (len(shape) - 1),
        "stop": shape[1:],
        "step": [1] * (len(shape) - 1),
    }


def _prelu(t: _Translator, node: _Node) -> dict[str, Any]:
    """PRelu with a constant slope: one value is a LeakyReLU of that slope, one a channel a PReLU
    over the channel axis (ONNX's opset-6 slope per channel, or from 7 a slope (C, 1, ...) as
    broadcasting aligns it with the channels)."""
    slope = t.constant(node, 1, "slope")
    if slope.size == 1:
        return {"type": "LeakyReLU", "input": t.source(node), "alpha": float(slope.reshape(-1)[0])}
    shape = t.shape(node.inputs[0])
    channel_first = t.opset < 7 or list(slope.shape) == [shape[1]] + [1] * (len(shape) - 2)
    if len(shape) < 2 or slope.size != shape[1] or not channel_first:
        raise OnnxProblem(f"a slope of shape {list(slope.shape)} is not one a channel (NNC's PReLU)")
    return {
        "type": "PReLU",
        "input": t.source(node),
        "base_axis": 0,
        "_params": {"{scope}/prelu/slope": slope.reshape(-1)},
    }


def _simple(kind: str, **renamed: tuple[str, float]) -> Operator:
    """An activation with attributes: nnspec property -> (ONNX attribute, ONNX's default)."""

    def translate(t: _Translator, node: _Node) -> dict[str, Any]:
        layer: dict[str, Any] = {"type": kind, "input": t.source(node)}
        for prop, (attribute, default) in renamed.items():
            layer[prop] = _decimal(node.attributes.get(attribute, default))
        return layer

    return translate


def _softmax(kind: str) -> Operator:
    def translate(t: _Translator, node: _Node) -> dict[str, Any]:
        rank = len(t.shape(node.inputs[0]))
        axis = int(node.attributes.get("axis", -1 if t.opset >= 13 else 1)) % rank
        shape = t.shape(node.inputs[0])
        if t.opset < 13 and any(n != 1 for n in shape[axis + 1 :]):
            raise OnnxProblem(f"before opset 13 {node.op} flattens the axes from {axis} on: only the last axis maps")
        if axis == 0:
            raise OnnxProblem("along the batch axis: NNC's layers work per sample")
        return {"type": kind, "input": t.source(node), "axis": axis - 1}

    return translate


_SCALAR = {"Add": "AddScalar", "Mul": "MulScalar"}
_BINARY = {"Add": "Add2", "Mul": "Mul2", "Sub": "Sub2", "Div": "Div2"}


def _arithmetic(t: _Translator, node: _Node) -> dict[str, Any]:
    first, second = node.inputs[0], node.inputs[1]
    constant = next((name for name in (first, second) if name in t.constants), None)
    if constant is not None and t.constants[constant].size == 1:
        held = t.constants[constant].reshape(-1)[0]
        value = _decimal(held) if held.dtype == np.float32 else float(held)
        other = t.layer_of[second if constant == first else first]
        if node.op in _SCALAR:
            return {"type": _SCALAR[node.op], "input": other, "value": value}
        if node.op == "Sub":
            if constant == second:
                return {"type": "AddScalar", "input": other, "value": -value}
            return {"type": "RSubScalar", "input": other, "value": value}
        if constant == second:  # Div; by 0, x times an infinity of 0's sign, as IEEE's x / 0 (0 / 0: NaN)
            return {
                "type": "MulScalar",
                "input": other,
                "value": 1.0 / value if value else math.copysign(math.inf, value),
            }
        return {"type": "RDivScalar", "input": other, "value": value}
    return {"type": _BINARY[node.op], "input": [t.source(node, 0), t.source(node, 1)]}


def _sum(t: _Translator, node: _Node) -> dict[str, Any] | None:
    if len(node.inputs) == 1:
        return None
    sources = [t.source(node, i) for i in range(len(node.inputs))]
    return {"type": "Add2" if len(sources) == 2 else "AddN", "input": sources}


def _concat(t: _Translator, node: _Node) -> dict[str, Any]:
    axis = int(node.attributes["axis"])
    rank = len(t.shape(node.outputs[0]))
    axis %= rank
    if axis == 0:
        raise OnnxProblem("along the batch axis: NNC's layers work per sample")
    return {"type": "Concatenate", "input": [t.source(node, i) for i in range(len(node.inputs))], "axis": axis - 1}


def _reshaped(t: _Translator, node: _Node) -> dict[str, Any] | None:
    """Reshape, Flatten, Squeeze, Unsqueeze: a Reshape to the output's shape less the batch axis,
    which must stay the leading axis (then any batch size runs)."""
    source, out = t.shape(node.inputs[0]), t.shape(node.outputs[0])
    if node.op == "Reshape" and _wraps_a_layer(t, node):
        t.passed[node.outputs[0]] = node.inputs[0]
        return None
    fixed = (
        f"the model fixes the batch at {source[0]}, and " if source[:1] and source[0] else ""
    ) + "nnspec's layers work per sample: only a Reshape keeping the batch axis first runs on any number of samples"
    if node.op == "Reshape":
        target = [int(n) for n in t.constant(node, 1, "shape").reshape(-1)]
        if target and target[0] not in (0, -1, source[0]) or not target:
            raise OnnxProblem(
                f"shape {target} of an input of shape {source} does not keep the batch axis first: {fixed}"
            )
    if node.op == "Flatten" and int(node.attributes.get("axis", 1)) % max(len(source), 1) != 1:
        raise OnnxProblem("Flatten keeps the batch axis alone only at axis 1")
    if out[:1] != source[:1]:
        raise OnnxProblem(f"an input of shape {source} becomes {out}, the batch axis not first: {fixed}")
    return {"type": "Reshape", "input": t.source(node), "out_shape": [int(n) for n in out[1:]] or [1]}


def _transpose(t: _Translator, node: _Node) -> dict[str, Any]:
    rank = len(t.shape(node.inputs[0]))
    perm = [int(p) for p in node.attributes.get("perm", list(range(rank))[::-1])]
    if perm[0] != 0:
        raise OnnxProblem(f"perm {perm} moves the batch axis")
    return {"type": "Transpose", "input": t.source(node), "axes": [p - 1 for p in perm[1:]]}


def _dropout(t: _Translator, node: _Node) -> dict[str, Any] | None:
    return None  # at inference ONNX's Dropout passes its input through, as NNC's does at evaluation


def _pad(t: _Translator, node: _Node) -> dict[str, Any] | None:
    rank = len(t.shape(node.inputs[0]))
    pads = [int(p) for p in (t.constant(node, 1, "pads").reshape(-1) if t.opset >= 11 else node.attributes["pads"])]
    if len(node.inputs) > 3 and node.inputs[3]:
        raise OnnxProblem("the axes input has no Pad property")
    begin, end = pads[:rank], pads[rank:]
    folded = _pooling_padding(t, node, begin, end)
    if folded is not None:  # the padding of the pool reading it, as nnabla's converter writes it
        t.folded_pads[node.outputs[0]] = folded
        t.passed[node.outputs[0]] = node.inputs[0]
        return None
    if begin[0] or end[0]:
        raise OnnxProblem("padding the batch axis: NNC's layers work per sample")
    first = next((i for i in range(1, rank) if begin[i] or end[i]), rank - 1)
    mode = node.attributes.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    modes = {"constant": "constant", "reflect": "reflect", "edge": "repeat"}
    if mode not in modes:
        raise OnnxProblem(f"mode {mode} has no NNC Pad mode")
    value = t.optional_constant(node, 2) if t.opset >= 11 else np.float32(node.attributes.get("value", 0.0))
    width = [n for i in range(first, rank) for n in (begin[i], end[i])]
    layer: dict[str, Any] = {"type": "Pad", "input": t.source(node), "pad_width": width, "mode": modes[mode]}
    if mode == "constant":
        layer["constant_value"] = (
            float(np.asarray(value).reshape(-1)[0]) if value is not None and np.size(value) else 0.0
        )
    return layer


def _pooling_padding(
    t: _Translator, node: _Node, begin: list[int], end: list[int]
) -> tuple[list[int], list[int]] | None:
    """A Pad that is the padding of the one pool reading it, as nnabla's converter writes a pooling with
    padding (its pool then pads nothing): -inf before a MaxPool, 0 before an AveragePool (whose NNC
    layer then counts the padding: including_pad true). The pool's padding (begin, end) over its axes,
    where NNC's layer holds it: both ends alike, or for a max the end padded as ignore_border false
    pads it. A Pad of the input's edge values (the converter's form of including_pad false, which is
    not nnabla's average) stays a Pad layer."""
    pool = _only_reader(t, node.outputs[0], "MaxPool") or _only_reader(t, node.outputs[0], "AveragePool")
    mode = node.attributes.get("mode", b"constant")
    if pool is None or pool.inputs[0] != node.outputs[0] or mode not in (b"constant", "constant"):
        return None
    value = t.optional_constant(node, 2) if t.opset >= 11 else np.float32(node.attributes.get("value", 0.0))
    value = float(np.asarray(value).reshape(-1)[0]) if value is not None and np.size(value) else 0.0
    if value != (-math.inf if pool.op == "MaxPool" else 0.0):
        return None
    kernel = [int(k) for k in pool.attributes.get("kernel_shape", [])]
    rank = len(kernel)
    own = [int(p) for p in pool.attributes.get("pads", [0] * 2 * rank)]
    plain = not any(own) and not pool.attributes.get("ceil_mode", 0) and len(pool.outputs) == 1
    dilated = any(int(d) != 1 for d in pool.attributes.get("dilations", [1] * rank))
    if not rank or not plain or dilated or any(begin[:-rank]) or any(end[:-rank]) or min(begin + end) < 0:
        return None
    begin, end = begin[-rank:], end[-rank:]
    if begin == end:
        return begin, end
    strides = [int(n) for n in pool.attributes.get("strides", [1] * rank)]
    lengths, out = t.shape(node.inputs[0])[-rank:], t.shape(pool.outputs[0])[-rank:]
    if pool.op == "MaxPool" and _border_windows(lengths, kernel, strides, begin, end, out):
        return begin, end
    return None


def _border_windows(
    lengths: list[int], kernel: list[int], strides: list[int], begin: list[int], end: list[int], out: list[int]
) -> bool:
    """Whether a max pool padded with -inf, more at the end, takes the windows NNC's MaxPooling takes
    with padding ``begin`` and ignore_border false (every window starting inside the input, cut at its
    end): the same starts, so the same windows when they are as many."""
    from ..layers.pooling import pooled_length

    return all(
        e >= b and pooled_length(n, k, s, b, False) == o
        for n, k, s, b, e, o in zip(lengths, kernel, strides, begin, end, out)
    )


def _slice(t: _Translator, node: _Node) -> dict[str, Any]:
    shape = t.shape(node.inputs[0])
    rank = len(shape)
    if t.opset >= 10:
        starts = t.constant(node, 1, "starts").reshape(-1).tolist()
        ends = t.constant(node, 2, "ends").reshape(-1).tolist()
        axes = t.optional_constant(node, 3)
        steps = t.optional_constant(node, 4)
        axes_list = axes.reshape(-1).tolist() if axes is not None else list(range(len(starts)))
        steps_list = steps.reshape(-1).tolist() if steps is not None else [1] * len(starts)
    else:
        starts, ends = list(node.attributes["starts"]), list(node.attributes["ends"])
        axes_list = list(node.attributes.get("axes", range(len(starts))))
        steps_list = [1] * len(starts)
    start, stop, step = [0] * (rank - 1), [int(n) for n in shape[1:]], [1] * (rank - 1)
    for axis, begin, end, stride in zip(axes_list, starts, ends, steps_list):
        axis = int(axis) % rank
        if axis == 0:
            raise OnnxProblem("slicing the batch axis: NNC's layers work per sample")
        if stride < 1:
            raise OnnxProblem("a step below 1 has no NNC Slice form")
        length = shape[axis]
        begin = min(max(begin + length if begin < 0 else begin, 0), length)
        end = min(max(end + length if end < 0 else end, 0), length)
        start[axis - 1], stop[axis - 1], step[axis - 1] = int(begin), int(end), int(stride)
    return {"type": "Slice", "input": t.source(node), "start": start, "stop": stop, "step": step}


def _lrn(t: _Translator, node: _Node) -> dict[str, Any]:
    """LRN has no NNC layer: written as the layers that compute it, x (bias + alpha/size S)^-beta,
    S the sum of squares over a window of ``size`` channels, summed by a SumPooling over the channel
    axis of the squares reshaped to (1, C, rest) (padded first with zeros as ONNX's window reaches)."""
    shape = t.shape(node.inputs[0])
    if len(shape) < 2:
        raise OnnxProblem("its input has no channel axis")
    size = int(node.attributes["size"])
    alpha = float(node.attributes.get("alpha", 1e-4))
    beta = float(node.attributes.get("beta", 0.75))
    bias = float(node.attributes.get("bias", 1.0))
    channels, rest = int(shape[1]), int(np.prod(shape[2:], dtype=np.int64))
    source = t.source(node)
    square = t.extra_layer(node, "square", {"type": "Mul2", "input": [source, source]})
    flat = t.extra_layer(node, "flat", {"type": "Reshape", "input": square, "out_shape": [1, channels, rest]})
    before, after = (size - 1) // 2, size // 2
    padded = t.extra_layer(
        node, "padded", {"type": "Pad", "input": flat, "pad_width": [before, after, 0, 0], "mode": "constant"}
    )
    pooled = t.extra_layer(
        node,
        "window",
        {"type": "SumPooling", "input": padded, "kernel_shape": [size, 1], "strides": [1, 1], "padding": [0, 0]},
    )
    summed = t.extra_layer(node, "sum", {"type": "Reshape", "input": pooled, "out_shape": [int(n) for n in shape[1:]]})
    scaled = t.extra_layer(node, "scaled", {"type": "MulScalar", "input": summed, "value": alpha / size})
    shifted = t.extra_layer(node, "shifted", {"type": "AddScalar", "input": scaled, "value": bias})
    power = t.extra_layer(node, "power", {"type": "PowScalar", "input": shifted, "value": -beta})
    return {"type": "Mul2", "input": [source, power]}


def _split(t: _Translator, node: _Node) -> None:
    """Split: a Slice layer for each output (NNC's layers write one output each), named as it."""
    shape = t.shape(node.inputs[0])
    rank = len(shape)
    axis = int(node.attributes.get("axis", 0)) % rank
    if axis == 0:
        raise OnnxProblem("splitting the batch axis: NNC's layers work per sample")
    given = t.optional_constant(node, 1) if t.opset >= 13 else node.attributes.get("split")
    outputs = [name for name in node.outputs if name]
    if given is not None and len(np.asarray(given).reshape(-1)):
        sizes = [int(n) for n in np.asarray(given).reshape(-1)]
    else:
        count = int(node.attributes.get("num_outputs", len(outputs)))
        whole = -(-shape[axis] // count)  # ONNX: equal parts, the last smaller
        sizes = [min(whole, shape[axis] - whole * i) for i in range(count)]
    if sum(sizes) != shape[axis] or len(sizes) != len(node.outputs):
        raise OnnxProblem(f"split sizes {sizes} do not cut an axis of {shape[axis]} into {len(node.outputs)} parts")
    source, begin = t.source(node), 0
    for output, size in zip(node.outputs, sizes):
        start, stop = [0] * (rank - 1), [int(n) for n in shape[1:]]
        start[axis - 1], stop[axis - 1] = begin, begin + size
        begin += size
        if not output:
            continue
        name = t._name(output)
        layer = {"name": name, "type": "Slice", "input": source, "start": start, "stop": stop, "step": [1] * (rank - 1)}
        t._add(layer, output, node.index)
    return None


def _gather(t: _Translator, node: _Node) -> dict[str, Any]:
    """Gather from a constant table along its first axis: NNC's Embed, the table its W."""
    table = t.constant(node, 0, "data (the table an Embed looks up)")
    if int(node.attributes.get("axis", 0)) % max(table.ndim, 1) != 0 or table.ndim < 1:
        raise OnnxProblem("only a Gather along the table's first axis is an Embed")
    return {
        "type": "Embed",
        "input": t.source(node, 1),
        "num_class": int(table.shape[0]),
        "shape": [int(n) for n in table.shape[1:]] or [1],
        "_params": {"{scope}/embed/W": table},
    }


def _reduce_axes(t: _Translator, node: _Node) -> list[int] | None:
    if len(node.inputs) > 1 and node.inputs[1]:
        if node.inputs[1] not in t.constants:
            return None
        return [int(a) for a in t.constants[node.inputs[1]].reshape(-1)]
    return [int(a) for a in node.attributes.get("axes", [])]


def _only_reader(t: _Translator, tensor: str, op: str) -> _Node | None:
    readers = t.consumers.get(tensor, [])
    if tensor in t.outputs or len(readers) != 1 or readers[0].op != op:
        return None
    return readers[0]


def _decomposed_softmax(t: _Translator, node: _Node) -> dict[str, Any]:
    """ReduceMax, Sub, Exp, ReduceSum, then Div (Softmax) or Log and Sub (LogSoftmax) along one axis,
    as nnabla's converter writes NNC's Softmax: one Softmax or LogSoftmax layer, so that the range
    checks see a Softmax rather than five arithmetic layers. Anything else is refused."""
    refused = OnnxProblem("ReduceMax has no NNC layer here: only as the start of a decomposed Softmax or LogSoftmax")
    source = node.inputs[0]
    rank = len(t.shape(source))
    axes = _reduce_axes(t, node)
    if axes is None or len(axes) != 1 or not node.attributes.get("keepdims", 1) or rank < 2 or axes[0] % rank == 0:
        raise refused
    axis = axes[0] % rank
    shifted = _only_reader(t, node.outputs[0], "Sub")
    if shifted is None or shifted.inputs != [source, node.outputs[0]]:
        raise refused
    readers = t.consumers.get(shifted.outputs[0], [])
    exp = next((r for r in readers if r.op == "Exp"), None)
    exp_readers = t.consumers.get(exp.outputs[0], []) if exp else []
    if exp is None or not exp_readers or exp.outputs[0] in t.outputs:
        raise refused
    total = next((r for r in exp_readers if r.op == "ReduceSum"), None)
    if (
        total is None
        or _reduce_axes(t, total) not in ([axis], [axis - rank])
        or not total.attributes.get("keepdims", 1)
    ):
        raise refused
    if len(readers) == 1 and len(exp_readers) == 2:  # Softmax: exp / sum
        divide = next((r for r in exp_readers if r.op == "Div"), None)
        if divide is None or divide.inputs != [exp.outputs[0], total.outputs[0]]:
            raise refused
        if len(t.consumers.get(total.outputs[0], [])) != 1:
            raise refused
        t.absorbed.update({shifted.index, exp.index, total.index, divide.index})
        return {"type": "Softmax", "input": t.layer_of[source], "axis": axis - 1, "_output": divide.outputs[0]}
    log = _only_reader(t, total.outputs[0], "Log")
    final = _only_reader(t, log.outputs[0], "Sub") if log else None
    if len(readers) != 2 or len(exp_readers) != 1 or log is None or final is None:
        raise refused
    if final.inputs != [shifted.outputs[0], log.outputs[0]]:
        raise refused
    t.absorbed.update({shifted.index, exp.index, total.index, log.index, final.index})
    return {"type": "LogSoftmax", "input": t.layer_of[source], "axis": axis - 1, "_output": final.outputs[0]}


def _decomposed_layer_norm(t: _Translator, node: _Node) -> dict[str, Any]:
    """ReduceMean, then Sub, Mul, ReduceSum and Div by the count (the biased variance), Add epsilon,
    Pow 0.5 (or Sqrt), Div of x - mean by it, and a Mul by gamma and an Add of beta, each read by the
    next alone: NNC's LayerNormalization as nnabla's converter writes it, one layer so that the range
    checks see a normalization. The axes reduced are every axis of the sample (or all but one: that
    axis is NNC's batch_axis). Anything else is refused."""
    refused = OnnxProblem("ReduceMean has no NNC layer here: only as the start of a decomposed LayerNormalization")
    x, mean = node.inputs[0], node.outputs[0]
    shape = t.shape(x)
    rank = len(shape)
    axes = _reduce_axes(t, node)
    if axes is None or not node.attributes.get("keepdims", 1) or mean in t.outputs or rank < 2:
        raise refused
    axes = sorted({a % rank for a in axes})
    kept = [a for a in range(1, rank) if a not in axes]
    readers = t.consumers.get(mean, [])
    centred = [r for r in readers if r.op == "Sub" and r.inputs == [x, mean]]
    if 0 in axes or len(kept) > 1 or not centred or len(centred) != len(readers) or len(centred) > 2:
        raise refused
    chain = _normalization_chain(t, centred, axes, rank, math.prod(shape[a] for a in axes))
    if chain is None:
        raise refused
    nodes, epsilon, last = chain
    target = [1, *shape[1:]]
    if kept:
        target[kept[0]] = 1
    params, reads = {}, []
    for name, op, default in (("gamma", "Mul", 1.0), ("beta", "Add", 0.0)):
        step = _only_reader(t, last, op)
        value = _constant_operand(t, step, last) if step is not None else None
        if step is None or value is None:
            params[f"{{scope}}/layer_normalization/{name}"] = np.full(target, default, np.float32)
            continue
        held = _as_parameter(value, target)
        if held is None:
            raise OnnxProblem(
                f"its {name} of shape {list(value.shape)} does not fit a LayerNormalization {name} of shape {target}"
            )
        params[f"{{scope}}/layer_normalization/{name}"] = held
        reads.append(next(n for n in step.inputs if n != last))
        nodes.append(step)
        last = step.outputs[0]
    t.absorbed.update(n.index for n in nodes)
    layer: dict[str, Any] = {"type": "LayerNormalization", "input": t.source(node), "epsilon": epsilon}
    if kept:
        layer["batch_axis"] = kept[0] - 1
    return {**layer, "_params": params, "_output": last, "_reads": reads}


def _normalization_chain(
    t: _Translator, centred: list[_Node], axes: list[int], rank: int, count: int
) -> tuple[list[_Node], float, str] | None:
    """The nodes from x - mean to (x - mean) / sqrt(var + epsilon), with epsilon and the tensor they end
    in, if they are nnabla's: a Sub squared by a Mul, summed over ``axes`` and divided by their
    ``count`` (or averaged over them, as nnspec writes it), epsilon added, raised to 0.5 (or Sqrt),
    and the Sub divided by it."""
    found = {r.index: (r, s) for s in centred for r in t.consumers.get(s.outputs[0], []) if r.op == "Mul"}
    if len(found) != 1:
        return None
    ((square, squared),) = found.values()
    if square.inputs != [squared.outputs[0]] * 2:
        return None
    total = _only_reader(t, square.outputs[0], "ReduceSum") or _only_reader(t, square.outputs[0], "ReduceMean")
    if total is None or sorted({a % rank for a in _reduce_axes(t, total) or []}) != axes:
        return None
    if not total.attributes.get("keepdims", 1):
        return None
    variance = _variance(t, total, count)
    if variance is None:
        return None
    shifted = _only_reader(t, variance.outputs[0], "Add")
    epsilon = _constant_operand(t, shifted, variance.outputs[0]) if shifted is not None else None
    if shifted is None or epsilon is None or epsilon.size != 1:
        return None
    root = _only_reader(t, shifted.outputs[0], "Pow") or _only_reader(t, shifted.outputs[0], "Sqrt")
    if root is None or root.inputs[0] != shifted.outputs[0]:
        return None
    if root.op == "Pow" and (root.inputs[1] not in t.constants or t.constants[root.inputs[1]].size != 1):
        return None
    if root.op == "Pow" and float(t.constants[root.inputs[1]].reshape(-1)[0]) != 0.5:
        return None
    normed = _only_reader(t, root.outputs[0], "Div")
    if normed is None or normed.inputs[1] != root.outputs[0]:
        return None
    numerator = next((s for s in centred if s.outputs[0] == normed.inputs[0]), None)
    if numerator is None or normed.outputs[0] in t.outputs:
        return None
    expected = {id(square), id(normed)} if numerator is squared else {id(square)}
    if {id(r) for r in t.consumers.get(squared.outputs[0], [])} != expected:
        return None
    if numerator is not squared and [r.index for r in t.consumers.get(numerator.outputs[0], [])] != [normed.index]:
        return None
    inner = [*centred, square, *{total.index: total, variance.index: variance}.values(), shifted, root]
    if any(n.outputs[0] in t.outputs for n in inner):
        return None
    return [*inner, normed], _decimal(epsilon.reshape(-1)[0]), normed.outputs[0]


def _variance(t: _Translator, total: _Node, count: int) -> _Node | None:
    """The node giving the mean of the squares: a ReduceMean of them (as nnspec writes it), or their
    ReduceSum divided by their ``count`` (as nnabla's converter does)."""
    if total.op == "ReduceMean":
        return total
    variance = _only_reader(t, total.outputs[0], "Div")
    divisor = _constant_operand(t, variance, total.outputs[0]) if variance is not None else None
    if variance is None or variance.inputs[0] != total.outputs[0] or divisor is None or divisor.size != 1:
        return None
    return variance if float(divisor.reshape(-1)[0]) == count else None


def _constant_operand(t: _Translator, node: _Node, operand: str) -> np.ndarray | None:
    """The constant a binary node combines ``operand`` with, if the other input is one."""
    others = [name for name in node.inputs if name != operand]
    return t.constants.get(others[0]) if len(node.inputs) == 2 and len(others) == 1 else None


def _as_parameter(value: np.ndarray, target: list[int]) -> np.ndarray | None:
    """A constant broadcast against a layer's output, as a parameter of shape ``target`` (a batch axis
    of 1 and the sample's axes, 1 where the layer shares its values), if it fits there."""
    array = np.asarray(value, np.float32)
    array = array.reshape((1,) * (len(target) - array.ndim) + array.shape) if array.ndim <= len(target) else array
    full = [max(a, b) for a, b in zip(array.shape, target)] if array.ndim == len(target) else None
    if full is None or any(a not in (1, f) for a, f in zip(array.shape, full)):
        return None
    spread = np.broadcast_to(array, full)
    shared = [axis for axis, n in enumerate(target) if n == 1 and full[axis] != 1]
    kept = spread[tuple(slice(0, 1) if axis in shared else slice(None) for axis in range(len(full)))]
    if not np.array_equal(np.broadcast_to(kept, full), spread):
        return None  # it differs along an axis the layer's parameter holds one value for
    return np.ascontiguousarray(np.broadcast_to(kept, target))


_OPERATORS: dict[str, Operator] = {
    "ReduceMean": _decomposed_layer_norm,
    "ReduceMax": _decomposed_softmax,
    "Gather": _gather,
    "Split": _split,
    "LRN": _lrn,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "BatchNormalization": _batch_norm,
    "MaxPool": _pool("MaxPooling"),
    "AveragePool": _pool("AveragePooling"),
    "GlobalAveragePool": lambda t, node: {"type": "GlobalAveragePooling", "input": t.source(node)},
    "Relu": _simple("ReLU"),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "Abs": _simple("Abs"),
    "Neg": lambda t, node: {"type": "MulScalar", "input": t.source(node), "value": -1.0},
    "PRelu": _prelu,
    "Exp": _simple("Exp"),
    "Log": _simple("Log"),
    "Softsign": _simple("SoftSign"),
    "Softplus": _simple("SoftPlus"),
    "LeakyRelu": _simple("LeakyReLU", alpha=("alpha", 0.01)),
    "Elu": _simple("ELU", alpha=("alpha", 1.0)),
    "Selu": _simple("SELU", alpha=("alpha", 1.67326319217681884765625), scale=("gamma", 1.05070102214813232421875)),
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    "Add": _arithmetic,
    "Mul": _arithmetic,
    "Sub": _arithmetic,
    "Div": _arithmetic,
    "Sum": _sum,
    "Concat": _concat,
    "Reshape": _reshaped,
    "Flatten": _reshaped,
    "Squeeze": _reshaped,
    "Unsqueeze": _reshaped,
    "Transpose": _transpose,
    "Dropout": _dropout,
    "Identity": _dropout,
    "Pad": _pad,
    "Slice": _slice,
}


def supported_operators() -> list[str]:
    """The ONNX operators nnspec maps onto NNC layers (and the constant ones it folds)."""
    return sorted(set(_OPERATORS) | {"Constant", "ConstantOfShape"})


__all__ = ["read_file", "parameters", "translate", "supported_operators", "load_model"]
