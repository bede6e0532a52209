#!/usr/bin/env python3
"""Structured fuzzing of nnspec's ONNX reader through its command line (issue 22), run by hand.

``scripts/fuzz_validate.py --format onnx --structured N`` runs it (or this script directly). Each
case is an .onnx model in a folder of its own: a seed changed by one to four mutations, at the
protobuf level (declared dimensions huge or negative; external data whose location leaves the
folder by ``..``, an absolute path or a symlink; cycles made by renaming outputs; unknown operators
and domains; wrong element and attribute types; missing inputs; absurd opsets; If/Loop/Scan bodies
nested deep; repeated fields a hundred thousand long; names holding control characters) or at the
byte level (flipped, inserted, deleted, repeated bytes, a truncation, a splice of two seeds). The
seeds are models nnspec's own writer made from the example specs (``nnspec convert specs/X.yaml
-o X.onnx``) and a few written here with operators the writer does not use (Gemm, pools, Split,
Gather, If, Loop, Scan, external data).

Each case runs as a user would run it, ``nnspec validate|run|convert m.onnx`` (nnspec.cli.main),
in a worker process that runs many cases one after another (starting Python and importing onnx
takes a second; a case, milliseconds): its stdout and stderr go to files at the descriptor level
(what onnx's C++ prints is caught too), and an audit hook (``sys.addaudithook``) records every file
and folder opened. The contract, checked for every case:

- the exit code is 0, 1 or 2; no traceback, "internal error" or Python warning reaches the user;
- an error names the model (``m.onnx``), a spec error with LINE:COL;
- no control character (C0 but tab and newline, DEL, C1, bidi controls) is printed, nor more than
  256 KB, nor anything of the secret beside the case's folder;
- nothing outside the case's folder is opened (Python's and nnspec's own code aside);
- the case takes at most 3 s of CPU and 200 MB of memory beyond what the worker held before it
  (its peak resident size, reset per case through /proc/self/clear_refs), and ends within 30 s.

A case breaking it is a failure: counted by its kind (the exception's type, or the broken rule),
its folder kept under --keep (default: the temporary directory's nnspec-onnx-fuzz-failures) with
``argv.json``; ``python3 -m nnspec ARGV`` in that folder replays it. A worker that dies (a crash in
C++ code) or hangs is a failure too, and is started again.

    python3 scripts/fuzz_validate.py --format onnx --structured 2000 [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODEL = "m.onnx"
SECRET = "nnspec-onnx-fuzz-secret-3f9c2a71"
CPU_LIMIT = 3.0  # seconds of CPU a case may take
MEMORY_LIMIT = 200 * 2**20  # bytes of peak resident memory beyond the worker's before the case
OUTPUT_LIMIT = 256 * 2**10
TIMEOUT = 30.0  # wall seconds before a case is taken as hung and its worker stopped
WORKER_SIZE_LIMIT = 600 * 2**20  # a worker holding more resident memory after a case is started again
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PYTHON_WARNING = re.compile(r"\.py:\d+: \w*Warning: ")
LOCATED = re.compile(re.escape(MODEL) + r":\d+:\d+: ")


# --- seeds ------------------------------------------------------------------------------------


def seeds(folder: Path) -> dict[str, bytes]:
    """The seed models by name: nnspec's writer's, from the example specs, and the handmade ones."""
    from nnspec.cli import main

    made = {}
    for spec in sorted((REPO / "specs").glob("*.yaml")):
        out = folder / f"{spec.stem}.onnx"
        with _silenced():
            code = main(["convert", str(spec), "-o", str(out), "--force"])
        if code == 0:
            made[spec.stem] = out.read_bytes()
    made.update(handmade())
    return made


class _silenced:
    """stdout and stderr to nowhere for the block (the seeds' conversions print a line each)."""

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.saved


def handmade() -> dict[str, bytes]:
    """Models with what nnspec's writer does not write: Gemm, pools, Split, Gather, control flow."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def model(name: str, nodes: list, inputs: list, outputs: list, inits: list = (), opset: int = 17) -> bytes:
        graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()

    def info(name: str, shape: list, kind: int = TensorProto.FLOAT) -> Any:
        return helper.make_tensor_value_info(name, kind, shape)

    def init(name: str, array: Any) -> Any:
        return numpy_helper.from_array(np.asarray(array), name)

    rng = np.random.default_rng(0)
    conv = model(
        "conv",
        [
            helper.make_node("Conv", ["x", "W", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["f"], axis=1),
            helper.make_node("Gemm", ["f", "G", "g"], ["y"], transB=1),
            helper.make_node("Softmax", ["y"], ["s"], axis=-1),
        ],
        [info("x", [1, 2, 4, 4])],
        [info("s", [1, 3])],
        [
            init("W", rng.standard_normal((4, 2, 3, 3)).astype(np.float32)),
            init("b", np.zeros(4, np.float32)),
            init("G", rng.standard_normal((3, 16)).astype(np.float32)),
            init("g", np.zeros(3, np.float32)),
        ],
    )
    split = model(
        "split",
        [
            helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
            helper.make_node("Concat", ["b", "a"], ["c"], axis=1),
            helper.make_node("Slice", ["c", "st", "en", "ax"], ["s"]),
            helper.make_node("Pad", ["s", "pads"], ["y"]),
            helper.make_node("AveragePool", ["y"], ["z"], kernel_shape=[2], pads=[0, 1]),
        ],
        [info("x", [1, 4, 6])],
        [info("z", [1, 3, 6])],
        [
            init("sizes", np.array([1, 3], np.int64)),
            init("st", np.array([1], np.int64)),
            init("en", np.array([4], np.int64)),
            init("ax", np.array([1], np.int64)),
            init("pads", np.array([0, 0, 1, 0, 0, 0], np.int64)),
        ],
    )
    embed = model(
        "embed",
        [helper.make_node("Gather", ["T", "i"], ["e"]), helper.make_node("Tanh", ["e"], ["y"])],
        [info("i", [1, 3], TensorProto.INT64)],
        [info("y", [1, 3, 2])],
        [init("T", rng.standard_normal((5, 2)).astype(np.float32))],
    )
    body = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [info("t", [1, 4])])
    other = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["e"])], "else", [], [info("e", [1, 4])])
    branching = model(
        "if",
        [helper.make_node("If", ["cond"], ["y"], then_branch=body, else_branch=other)],
        [info("x", [1, 4])],
        [info("y", [1, 4])],
        [init("cond", np.array(True))],
    )
    loop_body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Add", ["v", "x"], ["v_out"])],
        "body",
        [info("i", [], TensorProto.INT64), info("c", [], TensorProto.BOOL), info("v", [1, 4])],
        [info("c_out", [], TensorProto.BOOL), info("v_out", [1, 4])],
    )
    looping = model(
        "loop",
        [helper.make_node("Loop", ["n", "cond", "x"], ["y"], body=loop_body)],
        [info("x", [1, 4])],
        [info("y", [1, 4])],
        [init("n", np.array(3, np.int64)), init("cond", np.array(True))],
    )
    scan_body = helper.make_graph(
        [helper.make_node("Add", ["s", "e"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["o"])],
        "scan",
        [info("s", [4]), info("e", [4])],
        [info("s_out", [4]), info("o", [4])],
    )
    scanning = model(
        "scan",
        [helper.make_node("Scan", ["s0", "x"], ["last", "y"], body=scan_body, num_scan_inputs=1)],
        [info("x", [1, 4])],
        [info("y", [1, 4])],
        [init("s0", np.zeros(4, np.float32))],
    )
    weight = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(4, 2), "W")
    _make_external(weight, "weights.bin", 0, 32)
    external = model(
        "external",
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        [info("x", [1, 4])],
        [info("y", [1, 2])],
        [weight],
    )
    return {
        "conv": conv,
        "split": split,
        "embed": embed,
        "if": branching,
        "loop": looping,
        "scan": scanning,
        "external": external,
    }


def _make_external(tensor: Any, location: str, offset: Any, length: Any) -> None:
    tensor.data_location = 1  # TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is None:
            continue
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)


# --- mutations --------------------------------------------------------------------------------

HUGE = [2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1, -1, -7, -(2**40), 0, 10**6]
NAMES = [
    "",
    "x",
    "../../etc/passwd",
    "a\x1b[31mred",
    "bidi\u202eevil",
    "nul\x00name",
    "cr\rname",
    "é" * 3,
    "n" * 5000,
    "layers",
    "Input",
    "1abc",
    "a/b/c",
    "'",
]
OPS = [
    "Hardmax",
    "Erf",
    "NonMaxSuppression",
    "",
    "relu",
    "Relu\x1b[2J",
    "X" * 3000,
    "If",
    "Loop",
    "Scan",
    "Constant",
    "ConstantOfShape",
    "Reshape",
    "Split",
    "ReduceMax",
    "Gather",
    "LRN",
    "Pad",
    "Conv",
    "ConvTranspose",
    "BatchNormalization",
    "MaxPool",
    "Cast",
    "Shape",
    "Concat",
]
DOMAINS = ["com.microsoft", "ai.onnx.ml", "ai.onnx", "ai.onnx.preview.training", "x" * 2000, "\x07bell", "évil"]


@dataclass
class Case:
    model: bytes
    mutations: list[str]
    argv: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)  # name -> bytes, or "->TARGET" for a symlink


Mutation = Callable[[Any, random.Random, "Place"], None]


@dataclass
class Place:
    """What a mutation may point at: the secret file and folder outside the case's folder."""

    secret: Path
    outside: Path
    appended: bytes = b""  # bytes a mutation adds after the model's own (nest: deeper than protobuf builds)


def _graphs(graph: Any) -> Iterator[Any]:
    """A graph and every subgraph its nodes' attributes hold."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _some_graph(model: Any, rng: random.Random) -> Any:
    graphs = list(_graphs(model.graph))
    return graphs[0] if rng.random() < 0.6 else rng.choice(graphs)


def _value_infos(graph: Any) -> list[Any]:
    return [*graph.input, *graph.output, *graph.value_info]


def dims(model: Any, rng: random.Random, place: Place) -> None:
    """A declared dimension huge, negative or zero, of a graph input, output or initializer."""
    graph = _some_graph(model, rng)
    infos = [i for i in _value_infos(graph) if i.type.tensor_type.HasField("shape")]
    if infos and (rng.random() < 0.6 or not graph.initializer):
        shape = rng.choice(infos).type.tensor_type.shape
        if shape.dim:
            shape.dim[rng.randrange(len(shape.dim))].dim_value = rng.choice(HUGE)
        else:
            shape.dim.add().dim_value = rng.choice(HUGE)
    elif graph.initializer:
        tensor = rng.choice(graph.initializer)
        if tensor.dims and rng.random() < 0.7:
            tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice(HUGE)
        else:
            tensor.dims.append(rng.choice(HUGE))


def rank(model: Any, rng: random.Random, place: Place) -> None:
    """A tensor of thousands of axes (a repeated field a hundred thousand long at most)."""
    graph = model.graph
    infos = [i for i in _value_infos(graph) if i.type.tensor_type.HasField("shape")]
    count = rng.choice([64, 1000, 100_000])
    if infos and rng.random() < 0.5:
        shape = rng.choice(infos).type.tensor_type.shape
        for _ in range(count):
            shape.dim.add().dim_value = 1
    elif graph.initializer:
        rng.choice(graph.initializer).dims.extend([1] * count)


def external(model: Any, rng: random.Random, place: Place) -> None:
    """An initializer's data in a file named by location: inside the folder, or anywhere else."""
    graph = _some_graph(model, rng)
    if not graph.initializer:
        return
    tensor = rng.choice(graph.initializer)
    locations = [
        "weights.bin",
        "./weights.bin",
        "sub/../weights.bin",
        "../" + place.secret.name,
        "../../" + place.secret.name,
        str(place.secret),
        "/etc/passwd",
        "/proc/self/environ",
        "/dev/zero",
        "/dev/stdin",
        "link.bin",
        "linkdir/secret.bin",
        "sub/../../" + place.secret.name,
        "sub",
        "",
        ".",
        "/",
        "..",
        "~/.ssh/id_rsa",
        "weights.bin\x00.txt",
        "%2e%2e/" + place.secret.name,
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\w.bin",
        "file:///etc/passwd",
        "weights.bin/",
        "w" * 5000,
        "weights.bin\n",
        "fifo",
    ]
    offsets: list[Any] = [0, 0, 0, None, 4, -1, 2**63, "abc", " 0", "1e3", 10**30, "0x10"]
    lengths: list[Any] = [None, None, 32, 0, 1, 2**40, -4, "x", 10**30]
    _make_external(tensor, rng.choice(locations), rng.choice(offsets), rng.choice(lengths))
    if rng.random() < 0.2:  # keys twice, or an unknown one
        entry = tensor.external_data.add()
        entry.key, entry.value = (
            rng.choice(["location", "offset", "length", "checksum", "basepath"]),
            rng.choice(["../" + place.secret.name, "0", "zz"]),
        )


def cycle(model: Any, rng: random.Random, place: Place) -> None:
    """A node reads a tensor a later node writes (a cycle when that one reads it back), its own
    output, or two nodes write the same tensor; or the nodes come in reverse order."""
    graph = _some_graph(model, rng)
    nodes = graph.node
    if len(nodes) < 1:
        return
    choice = rng.randrange(4)
    if choice == 0 and len(nodes) >= 2:  # rename a later node's output to an earlier node's input
        later = rng.randrange(1, len(nodes))
        earlier = rng.randrange(later)
        if nodes[earlier].input and nodes[later].output:
            nodes[later].output[0] = rng.choice(list(nodes[earlier].input))
    elif choice == 1:  # a node reads its own output
        node = rng.choice(nodes)
        if node.input and node.output:
            node.input[rng.randrange(len(node.input))] = node.output[0]
    elif choice == 2 and len(nodes) >= 2:  # two nodes write one tensor
        a, b = rng.sample(range(len(nodes)), 2)
        if nodes[a].output and nodes[b].output:
            nodes[b].output[0] = nodes[a].output[0]
    else:
        reordered = list(nodes)[::-1]
        del graph.node[:]
        graph.node.extend(reordered)


def unknown_op(model: Any, rng: random.Random, place: Place) -> None:
    """A node's operator or domain replaced: unknown, or a known one in the wrong place."""
    graph = _some_graph(model, rng)
    if not graph.node:
        return
    node = rng.choice(graph.node)
    if rng.random() < 0.7:
        node.op_type = rng.choice(OPS)
    else:
        node.domain = rng.choice(DOMAINS)


def wrong_type(model: Any, rng: random.Random, place: Place) -> None:
    """An element type changed (initializer or graph input), or an attribute's type flipped."""
    graph = _some_graph(model, rng)
    kinds = [0, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 21, 23, 999, -3]
    choice = rng.randrange(3)
    if choice == 0 and graph.initializer:
        rng.choice(graph.initializer).data_type = rng.choice(kinds)
    elif choice == 1 and graph.input:
        rng.choice(graph.input).type.tensor_type.elem_type = rng.choice(kinds)
    else:
        attributes = [a for node in graph.node for a in node.attribute]
        if attributes:
            attribute = rng.choice(attributes)
            attribute.type = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 99])
            if rng.random() < 0.5:  # and its value moved to another field
                attribute.ClearField("ints")
                attribute.s = b"\xff\xfe"


def missing(model: Any, rng: random.Random, place: Place) -> None:
    """A graph input, an initializer, a node's input or the outputs taken away, or a name blanked."""
    graph = _some_graph(model, rng)
    choice = rng.randrange(5)
    if choice == 0 and graph.input:
        del graph.input[rng.randrange(len(graph.input))]
    elif choice == 1 and graph.initializer:
        del graph.initializer[rng.randrange(len(graph.initializer))]
    elif choice == 2 and graph.node:
        node = rng.choice(graph.node)
        if node.input:
            del node.input[rng.randrange(len(node.input))]
    elif choice == 3 and graph.node:
        node = rng.choice(graph.node)
        if node.input:
            node.input[rng.randrange(len(node.input))] = ""
    else:
        del graph.output[:]


def opset(model: Any, rng: random.Random, place: Place) -> None:
    """The opset absurd (0, negative, 2^62), none, or twice; the IR version too."""
    choice = rng.randrange(4)
    if choice == 0 and model.opset_import:
        model.opset_import[0].version = rng.choice([0, -1, 1, 6, 9, 10, 12, 99, 2**31, 2**62])
    elif choice == 1:
        del model.opset_import[:]
    elif choice == 2:
        entry = model.opset_import.add()
        entry.domain, entry.version = rng.choice(["", "ai.onnx", *DOMAINS]), rng.choice([1, 7, 2**40])
    else:
        model.ir_version = rng.choice([0, 1, 3, 99, 2**62, -1])


def nest(model: Any, rng: random.Random, place: Place) -> None:
    """The graph's last node moved into If bodies nested 1 to 2,000 deep, the innermost an If, Loop
    or Scan, whose body may hold an initializer with external data outside the folder. Written as
    bytes (protobuf's Python library refuses to build messages nested past 100; a parser must
    refuse to read them), appended to the model's: protobuf merges a repeated field given twice."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from nnspec.files.nnpfile import encode_bytes_field as field
    from nnspec.files.nnpfile import encode_varint as varint

    graph = model.graph
    if not graph.node or not graph.node[-1].output:
        return
    last = graph.node[-1]
    output = last.output[0]
    depth = rng.choice([1, 2, 8, 60, 200, 2000])
    node = last.SerializeToString()
    value_info = helper.make_tensor_value_info(output, TensorProto.FLOAT, None).SerializeToString()
    otherwise = helper.make_graph([helper.make_node("Identity", ["cond"], [output])], "else", [], [])
    otherwise.output.add().ParseFromString(value_info)
    for level in range(depth):
        kind = rng.choice(["If", "Loop", "Scan"]) if level == 0 else "If"
        body = field(1, node) + field(2, f"level{level}".encode()) + field(12, value_info)
        if level == 0 and rng.random() < 0.3:  # a body initializer whose data lies outside
            tensor = numpy_helper.from_array(np.ones(2, np.float32), "outside")
            _make_external(tensor, "../" + place.secret.name, 0, 8)
            body += field(5, tensor.SerializeToString())
        branch = b"then_branch" if kind == "If" else b"body"
        attributes = field(5, field(1, branch) + varint(20 << 3) + varint(5) + field(6, body))
        if kind == "If":
            attributes += field(5, helper.make_attribute("else_branch", otherwise).SerializeToString())
        if kind == "Scan":
            attributes += field(5, helper.make_attribute("num_scan_inputs", 1).SerializeToString())
        inputs = {"If": ["cond"], "Loop": ["", "cond"], "Scan": []}[kind]
        node = b"".join(field(1, name.encode()) for name in inputs)
        node += field(2, output.encode()) + field(4, kind.encode()) + attributes
    del graph.node[-1]
    graph.initializer.append(numpy_helper.from_array(np.array(True), "cond"))
    place.appended += field(7, field(1, node))


def repeated(model: Any, rng: random.Random, place: Place) -> None:
    """A repeated field made long: nodes, graph inputs or outputs, initializers, an attribute's
    values, the opset imports."""
    from onnx import helper

    graph = model.graph
    count = rng.choice([1000, 20_000, 100_000])
    choice = rng.randrange(6)
    if choice == 0 and graph.node:  # a chain of Relu nodes after one: a large model, or one over the limit
        node = rng.choice(graph.node)
        if not node.output:
            return
        base = name = node.output[0]
        for k in range(rng.choice([200, 1000, 20_001])):
            graph.node.append(helper.make_node("Relu", [name], [f"{base}_r{k}"]))
            name = f"{base}_r{k}"
        graph.output.add().CopyFrom(helper.make_tensor_value_info(name, 1, None))
    elif choice == 1:  # (small ones: a copy of an input that "rank" made 100,000 axes long would take GBs)
        graph.input.extend(helper.make_tensor_value_info(f"in{k}", 1, [1, 4]) for k in range(count))
    elif choice == 2 and graph.output:
        name = graph.output[0].name
        graph.output.extend(helper.make_tensor_value_info(name, 1, [1, 4]) for _ in range(count))
    elif choice == 3 and graph.node:
        node = rng.choice(graph.node)
        attribute = node.attribute.add()
        attribute.name, attribute.type = rng.choice(["pads", "kernel_shape", "strides", "perm", "axes", "x"]), 7
        attribute.ints.extend(rng.choice([0, 1, -1, 2**40]) for _ in range(count))
    elif choice == 4:
        for k in range(count):
            tensor = graph.initializer.add()
            tensor.name, tensor.data_type = f"t{k}", 1
            tensor.dims.append(1)
            tensor.float_data.append(1.0)
    else:
        for k in range(count // 10):
            entry = model.opset_import.add()
            entry.domain, entry.version = f"d{k}", 1


def attributes(model: Any, rng: random.Random, place: Place) -> None:
    """A node's attribute given a hostile value (huge, negative, zero, the wrong length), or removed."""
    graph = _some_graph(model, rng)
    if not graph.node:
        return
    node = rng.choice(graph.node)
    if node.attribute and rng.random() < 0.3:
        del node.attribute[rng.randrange(len(node.attribute))]
        return
    name = rng.choice(
        [
            "kernel_shape",
            "pads",
            "strides",
            "dilations",
            "group",
            "axis",
            "perm",
            "split",
            "alpha",
            "epsilon",
            "to",
            "size",
            "value",
            "output_padding",
            "num_outputs",
            "keepdims",
            "axes",
            "auto_pad",
            "mode",
        ]
    )
    for existing in list(node.attribute):
        if existing.name == name:
            node.attribute.remove(existing)
    attribute = node.attribute.add()
    attribute.name = name
    kind = rng.randrange(4)
    if kind == 0:
        attribute.type, attribute.i = 2, rng.choice(HUGE)
    elif kind == 1:
        attribute.type = 7
        attribute.ints.extend(rng.choice(HUGE) for _ in range(rng.choice([0, 1, 2, 3, 4, 8])))
    elif kind == 2:
        attribute.type, attribute.f = 1, rng.choice([float("nan"), float("inf"), -1e38, 0.0, 1e-45])
    else:
        attribute.type, attribute.s = 3, rng.choice([b"SAME_UPPER", b"reflect", b"wrap", b"\xff", b"\x1b[2J"])


def tensor_data(model: Any, rng: random.Random, place: Place) -> None:
    """An initializer's data not its declared size: truncated, grown, in two fields at once."""
    graph = _some_graph(model, rng)
    if not graph.initializer:
        return
    tensor = rng.choice(graph.initializer)
    choice = rng.randrange(4)
    if choice == 0 and tensor.raw_data:
        tensor.raw_data = tensor.raw_data[: rng.randrange(len(tensor.raw_data))]
    elif choice == 1:
        tensor.raw_data = tensor.raw_data + bytes(rng.randrange(1, 64))
    elif choice == 2:
        tensor.float_data.extend([1.0] * rng.choice([1, 3, 1000]))
    else:
        tensor.ClearField("raw_data")
        tensor.int64_data.extend([7] * 3)


def names(model: Any, rng: random.Random, place: Place) -> None:
    """A tensor renamed everywhere (or only where it is written) to a hostile name."""
    graph = _some_graph(model, rng)
    every = [n for node in graph.node for n in node.output if n]
    if not every:
        return
    old, new = rng.choice(every), rng.choice(NAMES)
    everywhere = rng.random() < 0.7
    for node in graph.node:
        for field_ in (node.output, node.input) if everywhere else (node.output,):
            for k, name in enumerate(field_):
                if name == old:
                    field_[k] = new
    for info in _value_infos(graph):
        if info.name == old and everywhere:
            info.name = new
    if rng.random() < 0.3 and graph.node:
        rng.choice(graph.node).name = rng.choice(NAMES)


STRUCTURED: dict[str, Mutation] = {
    "dims": dims,
    "rank": rank,
    "external": external,
    "cycle": cycle,
    "unknown op": unknown_op,
    "wrong type": wrong_type,
    "missing": missing,
    "opset": opset,
    "nest": nest,
    "repeated": repeated,
    "attributes": attributes,
    "tensor data": tensor_data,
    "names": names,
}


def byte_mutation(data: bytes, rng: random.Random, others: list[bytes]) -> tuple[bytes, str]:
    """The serialized model changed as bytes: flipped, inserted, deleted, repeated, cut, spliced."""
    raw = bytearray(data)
    choice = rng.randrange(6)
    if not raw:
        return bytes(rng.randrange(256) for _ in range(16)), "bytes: random"
    if choice == 0:
        for _ in range(rng.randrange(1, 9)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), "bytes: flipped"
    if choice == 1:
        at = rng.randrange(len(raw))
        return bytes(
            raw[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))) + raw[at:]
        ), "bytes: inserted"
    if choice == 2:
        at = rng.randrange(len(raw))
        return bytes(raw[:at] + raw[at + rng.randrange(1, 64) :]), "bytes: deleted"
    if choice == 3:
        at = rng.randrange(len(raw))
        chunk = raw[at : at + rng.randrange(1, 256)]
        return bytes(raw[:at] + chunk * rng.choice([2, 10, 1000]) + raw[at:]), "bytes: repeated"
    if choice == 4:
        return bytes(raw[: rng.randrange(len(raw))]), "bytes: truncated"
    other = rng.choice(others)
    return bytes(raw[: rng.randrange(len(raw))] + other[rng.randrange(len(other)) :]), "bytes: spliced"


ARGVS = [
    (["validate", MODEL], 50),
    (["validate", "--format", "json", MODEL], 8),
    (["validate", "--format", "github", MODEL], 4),
    (["run", "-q", MODEL, "--synthetic", "--samples", "2"], 22),
    (["run", "-q", MODEL, "--synthetic", "--samples", "2", "--engine", "onnxruntime"], 6),
    (["convert", MODEL, "-o", "out.yaml"], 10),
]


def make_case(seed_models: dict[str, bytes], rng: random.Random, place: Place) -> Case:
    import onnx

    name = rng.choice(sorted(seed_models))
    data = seed_models[name]
    done = [f"seed {name}"]
    place.appended = b""
    if rng.random() < 0.8:
        model = onnx.load_model_from_string(data)
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            label = rng.choice(sorted(STRUCTURED))
            try:
                STRUCTURED[label](model, rng, place)
            except (ValueError, TypeError, IndexError, OverflowError):  # protobuf refused the value
                continue
            done.append(label)
        try:
            data = model.SerializeToString() + place.appended
        except Exception as exc:  # e.g. a message protobuf cannot encode
            done.append(f"(not serialized: {type(exc).__name__})")
    if rng.random() < 0.25:
        data, label = byte_mutation(data, rng, list(seed_models.values()))
        done.append(label)
    argv = rng.choices([a for a, _ in ARGVS], [w for _, w in ARGVS])[0]
    return Case(data, done, list(argv))


def lay_out(case: Case, folder: Path, place: Place, seed_models: dict[str, bytes]) -> None:
    """The case's folder: the model, weights.bin (the external seed's data), a subfolder, a FIFO,
    and symlinks to the secret file and folder outside."""
    import numpy as np

    folder.mkdir(parents=True)
    (folder / MODEL).write_bytes(case.model)
    (folder / "weights.bin").write_bytes(np.arange(8, dtype=np.float32).tobytes() + bytes(64))
    (folder / "sub").mkdir()
    (folder / "link.bin").symlink_to(place.secret)
    (folder / "linkdir").symlink_to(place.outside)
    os.mkfifo(folder / "fifo")


# --- the worker ---------------------------------------------------------------------------------


class _Guard:
    """What the audit hook records: files and folders opened outside the case's folder and the code."""

    active = False
    root = ""
    code_roots: tuple[str, ...] = ()
    outside: list[str] = []


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# Files the libraries read whatever the model (onnxruntime reads the system's name at start-up)
SYSTEM_FILES = ("/dev/null", "/dev/urandom", "/etc/os-release", "/usr/lib/os-release")


def allowed_path(real: str, folder: str, roots: tuple[str, ...]) -> bool:
    """Whether opening ``real`` (resolved) is within what a case may read: its folder, the code
    (and the folders on the import path, which the import system lists)."""
    return (
        _inside(real, folder)
        or any(_inside(real, root) for root in roots)
        or real in SYSTEM_FILES
        or real in {os.path.realpath(entry or ".") for entry in sys.path if entry}
    )


def _audit(event: str, args: tuple) -> None:
    if not _Guard.active or event not in ("open", "os.listdir", "os.scandir"):
        return
    path = args[0] if args else None
    if path is None or isinstance(path, int):
        return
    _Guard.active = False  # realpath below is not to be audited
    try:
        real = os.path.realpath(os.fsdecode(path))
        if not allowed_path(real, _Guard.root, _Guard.code_roots):
            _Guard.outside.append(f"{event} {real}")
    finally:
        _Guard.active = True


def code_roots() -> tuple[str, ...]:
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(REPO / "nnspec"), *sysconfig.get_paths().values()}
    return tuple(sorted(os.path.realpath(p) for p in paths))


def _memory(field_name: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current resident size (Linux 4.0 on)
    except OSError:
        pass


def _limit_memory() -> None:
    """The worker's address space capped 3 GB beyond what it maps after its imports: a case that
    would take the machine's memory meets a MemoryError (and fails the contract) instead."""
    import resource

    limit = _memory("VmSize") + 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker() -> None:
    """Runs cases read from stdin (one JSON line each: folder, argv), answering on the original
    stdout: exit code, CPU and wall seconds, peak memory beyond the start, opens outside."""
    sys.path.insert(0, str(REPO))
    requests = os.fdopen(os.dup(0), "r")
    replies = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    import onnx  # noqa: F401  (imported before any case: its import opens files of its own)

    from nnspec.cli import main

    _Guard.code_roots = code_roots()
    _limit_memory()
    sys.addaudithook(_audit)
    for line in requests:
        request = json.loads(line)
        folder = Path(request["folder"])
        os.chdir(folder)
        out = os.open(f"{folder}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(f"{folder}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out, 1)
        os.dup2(err, 2)
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        _reset_peak()
        before = _memory("VmRSS")
        _Guard.root, _Guard.outside = os.path.realpath(folder), []
        escaped = ""
        cpu, wall = time.process_time(), time.perf_counter()
        _Guard.active = True
        try:
            code = main(request["argv"])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001  (anything escaping main is the finding)
            code, escaped = -1, f"{type(exc).__name__}: {str(exc)[:200]}"
        _Guard.active = False
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = _memory("VmHWM") - before
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = stdout, stderr
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, out, err):
            os.close(fd)
        reply = {"code": code, "cpu": cpu, "wall": wall, "peak": peak, "outside": _Guard.outside[:5]}
        reply["size"] = _memory("VmRSS")
        reply["escaped"] = escaped
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            text=True,
        )

    def run(self, folder: Path, argv: list[str]) -> dict[str, Any] | str:
        """The worker's reply, or why there is none ("hung", "died: signal N")."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"folder": str(folder), "argv": argv}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
        if not ready:
            self.stop()
            return "hung (no answer in 30 s)"
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            return f"worker died: exit {code}" + (f" (signal {-code})" if code < 0 else "")
        return json.loads(line)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the contract ---------------------------------------------------------------------------------


def broken(case: Case, reply: dict[str, Any] | str, out: str, err: str) -> str | None:
    """The first rule the case broke, as a kind (short, for counting), or None."""
    if isinstance(reply, str):
        return reply
    said = out + err
    if reply["escaped"]:
        return "escaped main: " + reply["escaped"].split(":")[0]
    if "Traceback (most recent call last)" in err:
        lines = [line for line in err.splitlines() if line and not line.startswith(" ")]
        return "traceback: " + (lines[-1].split(":")[0] if lines else "?")
    match = re.search(r"internal error: (\w+)", err)
    if match:
        return f"internal error: {match.group(1)}"
    if reply["code"] not in (0, 1, 2):
        return f"exit code {reply['code']}"
    if PYTHON_WARNING.search(err):
        return "a Python warning reached the user"
    if reply["outside"]:
        return "opened outside the folder"
    if SECRET in said:
        return "the secret reached the output"
    control = CONTROL.search(said)
    if control:
        return f"control character U+{ord(control.group()):04X} in the output"
    if len(said.encode()) > OUTPUT_LIMIT:
        return "more than 256 KB of output"
    if reply["peak"] > MEMORY_LIMIT:
        return "more than 200 MB"
    if reply["cpu"] > CPU_LIMIT:
        return "more than 3 s of CPU"
    if "not enough memory" in err:
        return "out of memory"
    plain = case.argv[0] == "validate" and "--format" not in case.argv
    if plain and reply["code"] == 1 and not LOCATED.search(err):
        return "a spec error without m.onnx:LINE:COL"
    if reply["code"] == 2 and MODEL not in said and "out.yaml" not in said:
        return "a usage error not naming the model"
    return None


# --- the driver -----------------------------------------------------------------------------------


def fuzz(count: int, seed: int, keep: Path, show: int, verbose: bool = False) -> int:
    sys.path.insert(0, str(REPO))
    work = Path(tempfile.mkdtemp(prefix="nnspec-onnx-fuzz-"))
    outside = work / "home"
    outside.mkdir()
    (outside / "secret.bin").write_text(SECRET + "\n")
    place = Place(work / "secret.txt", outside)
    place.secret.write_text(SECRET + "\n" * 64)
    seed_folder = work / "seeds"
    seed_folder.mkdir()
    started = time.perf_counter()
    seed_models = seeds(seed_folder)
    print(f"{len(seed_models)} seeds ({time.perf_counter() - started:.1f} s); {count} cases, seed {seed}", flush=True)
    _limit_memory()  # the mutations too: a bug here must not take the shared machine's memory
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    mutations: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    examples: dict[str, str] = {}
    worst = {"cpu": 0.0, "peak": 0}
    runner = Worker()
    started = time.perf_counter()
    try:
        for index in range(count):
            case = make_case(seed_models, rng, place)
            mutations.update(m.split(":")[0] for m in case.mutations[1:])
            folder = work / "cases" / str(index)
            lay_out(case, folder, place, seed_models)
            began = time.perf_counter()
            reply = runner.run(folder, case.argv)
            if verbose:
                summary = reply if isinstance(reply, str) else {k: reply[k] for k in ("code", "cpu", "peak")}
                print(
                    f"  {index}: {time.perf_counter() - began:.2f} s {case.mutations} {case.argv[0]} {summary}",
                    flush=True,
                )
            out = _read(Path(f"{folder}.out"))
            err = _read(Path(f"{folder}.err"))
            if not isinstance(reply, str):
                codes[reply["code"]] += 1
                worst["cpu"] = max(worst["cpu"], reply["cpu"])
                worst["peak"] = max(worst["peak"], reply["peak"])
            kind = broken(case, reply, out, err)
            if kind:
                kinds[kind] += 1
                kept = keep / f"{len(examples) if kind not in examples else 'more'}-{index}"
                if kind not in examples:
                    examples[kind] = str(kept)
                    _keep(folder, kept, case, reply, out, err)
            if kind or isinstance(reply, str) or reply["size"] > WORKER_SIZE_LIMIT:
                runner.stop()  # a fresh worker: what a failing case left behind must not fail the next ones
                runner = Worker()
            shutil.rmtree(folder, ignore_errors=True)
            for suffix in (".out", ".err"):
                Path(f"{folder}{suffix}").unlink(missing_ok=True)
            if (index + 1) % 250 == 0:
                rate = (index + 1) / (time.perf_counter() - started)
                print(f"  {index + 1} cases, {sum(kinds.values())} failures, {rate:.1f} a second", flush=True)
    finally:
        runner.stop()
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(f"{count} cases in {elapsed:.0f} s; exit codes {dict(sorted(codes.items()))}")
    print(f"worst CPU {worst['cpu']:.2f} s, worst peak {worst['peak'] / 2**20:.0f} MB beyond the worker's")
    print("mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(mutations.items())))
    if not kinds:
        print("no failure")
        return 0
    print(f"{sum(kinds.values())} failures of {len(kinds)} kinds:")
    for kind, number in kinds.most_common(show):
        print(f"  {number:5d}  {kind}  (kept: {examples[kind]})")
    return 1


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def _keep(folder: Path, kept: Path, case: Case, reply: Any, out: str, err: str) -> None:
    """The failing case's folder kept (its symlinks and FIFO left out), with what it gave."""
    kept.mkdir(parents=True, exist_ok=True)
    (kept / MODEL).write_bytes(case.model)
    (kept / "weights.bin").write_bytes((folder / "weights.bin").read_bytes())
    details = {
        "argv": case.argv,
        "mutations": case.mutations,
        "reply": reply,
        "stdout": out[-4000:],
        "stderr": err[-4000:],
    }
    (kept / "argv.json").write_text(json.dumps(details, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--structured", type=int, default=2000, metavar="N", help="cases to run (2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "nnspec-onnx-fuzz-failures")
    parser.add_argument("--show", type=int, default=40)
    parser.add_argument("--verbose", action="store_true", help="a line per case")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    return fuzz(args.structured, args.seed, args.keep, args.show, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
