"""An engine on onnxruntime: the spec written as an ONNX model once (nnspec.spec.onnx_writer), run by one
onnxruntime InferenceSession on the CPU, batch after batch (``nnspec run --engine onnxruntime``).

The model is the one ``nnspec convert -o model.onnx`` writes, with the run's parameters as its
initializers, and one more graph output per tensor the observer needs: each observed layer's value and
its inputs' (the writer names each layer's value tensor after the layer). Per batch, the session
computes everything at once; the observer is then shown the observed layers in the order numpy's
engine shows them (nnspec.runtime.plan's: the spec's order), each with the values of what it reads.
So statistics, findings and outputs come from the same code as numpy's run, the values from onnxruntime.

A spec with a layer the writer refuses is refused here, one UsageError naming every such layer: the engine
``--engine onnxruntime`` names (nnspec.runtime.mixed) runs this one on the whole spec, or on each
piece of layers the writer holds and numpy's forwards on the rest. onnxruntime computes in float32, as
the writer writes: a float64 spec is refused (:func:`refuse_float64`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checks.check import Check
from ..core.diagnostics import UsageError
from ..core.extras import install_hint
from ..spec.model import Spec
from ..spec.onnx_writer import onnx_module, refuse_unwritable, write_onnx
from .engine import Observer
from .plan import layer_reads


def onnxruntime_module() -> Any:
    """The onnxruntime package, imported when first needed; a UsageError saying how to install it when absent."""
    try:
        import onnxruntime
    except ImportError:
        raise UsageError(f"--engine onnxruntime needs the onnxruntime package: {install_hint('onnx')}") from None
    return onnxruntime


def refuse_float64(spec: Spec) -> None:
    """A UsageError for a spec of another dtype than float32: the model nnspec writes computes in float32."""
    if np.dtype(spec.dtype) != np.float32:
        raise UsageError(
            f"{spec.file}: --engine onnxruntime runs float32 (the ONNX model nnspec writes); "
            f"this spec's dtype is {spec.dtype}: run it with --engine numpy"
        )


class OnnxRuntimeEngine:
    """The spec's ONNX model run by onnxruntime (CPU); see the module's docstring."""

    def __init__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
        *,
        spinning: bool = True,
    ) -> None:
        """``spinning=False``: the session's threads sleep as soon as a run ends, rather than spin a while
        for the next one (onnxruntime's default), which takes the cores from numpy's work between the
        runs of a mixed engine (nnspec.runtime.mixed; benchmarks/mixed.py measures it)."""
        refuse_unwritable(spec)  # before anything is imported or written: the layers named first
        refuse_float64(spec)
        onnx = onnx_module()
        ort = onnxruntime_module()
        self.spec = spec
        self._tensor = _tensors(spec)
        # What the observer is shown, in numpy's order: each observed layer and the keys of what it reads.
        self._shown = [
            (spec.layers[name], layer_reads(spec.layers[name], variables))
            for name in spec.order
            if observed is not None and name in observed
        ]
        wanted = [*spec.outputs, *(key for layer, reads in self._shown for key in (*reads, layer.name))]
        model = onnx.load_from_string(write_onnx(spec, parameters))
        graph_inputs = {value.name for value in model.graph.input}
        present = {value.name for value in model.graph.output}
        for key in wanted:
            tensor = self._tensor.get(key)
            if tensor is not None and tensor not in graph_inputs and tensor not in present:
                model.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
                present.add(tensor)
        self._fetched = [value.name for value in model.graph.output]
        self._inputs = sorted(graph_inputs)
        options = ort.SessionOptions()
        options.log_severity_level = 4  # fatal only: a batch it cannot run is reported by batch() below
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        feeds = {name: np.ascontiguousarray(data[name], dtype=np.float32) for name in self._inputs}
        values: dict[str, Any] = dict(feeds)
        try:
            fetched = self.session.run(self._fetched, feeds)
        except Exception as error:  # onnxruntime's own exception types (pybind11's): any is the batch's failure
            raise UsageError(
                f"{self.spec.file}: onnxruntime could not run a batch: {_reason(error)}; numpy's engine "
                "(--engine numpy) runs it and reports such values as findings"
            ) from None
        values.update(zip(self._fetched, fetched))

        def value(key: str) -> Any:
            """A layer's value, or a data variable's (``data:x``), as numpy's engine holds them."""
            if key in self._tensor:
                return values[self._tensor[key]]
            return data[key.removeprefix("data:")]

        if observe is not None:
            for layer, reads in self._shown:
                observe(layer, [value(key) for key in reads], value(layer.name))
        return {name: value(name) for name in self.spec.outputs}


def _reason(error: Exception) -> str:
    """onnxruntime's message without its code prefix: ``[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : ...``."""
    return str(error).rsplit(" : ", 1)[-1].strip()


def _tensors(spec: Spec) -> dict[str, str]:
    """Each layer's ONNX tensor, as the writer names them: a source layer's is its graph input (the
    data variable), a layer the view bypasses has its input's, every other layer's is named as it."""
    tensor: dict[str, str] = {}
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            tensor[name] = layer.dataset
        elif layer.type.skip_at_test and layer.props.get("skip_at_test"):
            tensor[name] = tensor[layer.inputs[0]]
        else:
            tensor[name] = name
    return tensor
