"""How many of the onnx package's own test models nnspec reads and reproduces.

The onnx wheel ships models nobody on this project wrote, with the outputs they must give:

- ``backend/test/data/light/``: nine ImageNet models (AlexNet, DenseNet-121, Inception v1 and v2,
  ResNet-50, ShuffleNet, SqueezeNet, VGG-19, ZFNet-512) in their "light" form: the real architectures,
  each weight replaced by a ConstantOfShape node filling its shape with one value (so the file is a few
  KiB), and one ``*_output_0.pb``: the output onnx's ReferenceEvaluator gives on onnx's dummy input
  (``arange(n) / n`` in the input's shape, float32; onnx/backend/test/runner generate_dummy_data).
- ``backend/test/data/pytorch-converted/``: operator tests exported by PyTorch, each a model.onnx and
  ``test_data_set_*/input_*.pb`` and ``output_*.pb``.
- ``tests/fixtures/onnx_nnabla/``: NNC-style networks of ours written by nnabla's own converter
  (nnabla-converter 1.39, ``nnabla_cli convert``: opset 11 or 13, the batch fixed at 1 or 2), with nnabla's
  outputs for 7 samples (scripts/make_nnabla_onnx_fixtures.py), run here on all 7. One output is not
  compared: an AveragePooling with including_pad false, which the converter writes as an average over
  edge-padded windows, not nnabla's (NNABLA_INEXACT).

For each model: nnspec reads it (operators nnspec has no layer for are reported, not counted as
wrong), runs it on the inputs with the parameters its initializers hold, and compares every output
with the expected one: |got - expected| <= atol + rtol |expected|, rtol 1e-5 and atol 1e-5 times the
largest |expected| (the light models' untrained statistics carry outputs to 1e9 and beyond, where an
absolute 1e-5 means nothing). Prints one line a model and the counts; ``--json`` the same as JSON.

    python3 scripts/onnx_conformance.py [--light] [--pytorch] [--nnabla] [--only NAME...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RTOL = 1e-5
ATOL_SHARE = 1e-5  # of the largest expected |value|
NNABLA_FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "onnx_nnabla"
# Outputs nnabla's converter writes as something else than nnabla computes: (file, output) -> why.
NNABLA_INEXACT = {
    ("pooling", "avg_uncounted"): "including_pad false written as an average of edge-padded windows",
}


def data_root() -> Path:
    import onnx

    return Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"


def dummy_input(info) -> np.ndarray:
    """onnx's own dummy input for a light model: arange(n) / n in the input's shape, float32."""
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in info.type.tensor_type.shape.dim)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def read_tensor(path: Path) -> np.ndarray:
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def light_cases() -> list[tuple[str, Path, list[np.ndarray], list[np.ndarray]]]:
    import onnx

    cases = []
    for model_path in sorted((data_root() / "light").glob("*.onnx")):
        model = onnx.load(str(model_path), load_external_data=False)
        constants = {tensor.name for tensor in model.graph.initializer}
        inputs = [dummy_input(info) for info in model.graph.input if info.name not in constants]
        expected = [
            read_tensor(model_path.with_name(f"{model_path.stem}_output_{i}.pb"))
            for i in range(len(model.graph.output))
        ]
        cases.append((model_path.stem, model_path, inputs, expected))
    return cases


def pytorch_cases() -> list[tuple[str, Path, list[np.ndarray], list[np.ndarray]]]:
    cases = []
    for folder in sorted((data_root() / "pytorch-converted").iterdir()):
        for data_set in sorted(folder.glob("test_data_set_*")):
            inputs = [read_tensor(p) for p in sorted(data_set.glob("input_*.pb"))]
            expected = [read_tensor(p) for p in sorted(data_set.glob("output_*.pb"))]
            cases.append((f"{folder.name}/{data_set.name}", folder / "model.onnx", inputs, expected))
    return cases


def nnabla_cases() -> list[tuple[str, Path, list[np.ndarray], list[np.ndarray | None]]]:
    import onnx

    cases = []
    for model_path in sorted(NNABLA_FIXTURES.glob("*.onnx")):
        graph = onnx.load(str(model_path)).graph
        saved = np.load(model_path.with_suffix(".npz"))
        inputs = [saved[f"in/{info.name}"] for info in graph.input]
        expected = [
            None if (model_path.stem, info.name) in NNABLA_INEXACT else saved[f"out/{info.name}"]
            for info in graph.output
        ]
        cases.append((model_path.stem, model_path, inputs, expected))
    return cases


def check(model_path: Path, inputs: list[np.ndarray], expected: list[np.ndarray | None]) -> tuple[str, str]:
    """("pass" | "fail" | "unsupported", detail) for one model and one data set."""
    import nnspec
    from nnspec.core.diagnostics import NnspecError

    try:
        spec = nnspec.load(str(model_path))
    except NnspecError as exc:
        return "unsupported", _first_line(exc)
    data = [layer for layer in spec.layers.values() if layer.type.name == "Input"]
    feeds = {layer.name: array for layer, array in zip(data, inputs)}
    try:
        result = nnspec.run(spec, feeds, statistics=False, view="runtime", batch_size=len(inputs[0]))
    except NnspecError as exc:
        return "unsupported", _first_line(exc)
    outputs = list(spec.outputs) or [spec.order[-1]]
    for name, want in zip(outputs, expected):
        if want is None:  # not what the file computes (NNABLA_INEXACT)
            continue
        got = np.asarray(result.outputs[name], dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            got = got.reshape(want.shape) if got.size == want.size else got
        if got.shape != want.shape:
            return "fail", f"{name}: shape {got.shape}, expected {want.shape}"
        atol = ATOL_SHARE * float(np.max(np.abs(want))) if want.size else 0.0
        error = np.abs(got - want) - (atol + RTOL * np.abs(want))
        if np.any(error > 0) or np.isnan(got).any() != np.isnan(want).any():
            worst = float(np.max(np.abs(got - want)))
            return "fail", f"{name}: largest difference {worst:.3g} (largest |expected| {np.max(np.abs(want)):.3g})"
    return "pass", ""


def _first_line(exc: Exception) -> str:
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return (
            f"{diagnostics[0].message} (+{len(diagnostics) - 1} more)"
            if len(diagnostics) > 1
            else diagnostics[0].message
        )
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", action="store_true", help="the light model zoo only")
    parser.add_argument("--pytorch", action="store_true", help="the pytorch-converted operator tests only")
    parser.add_argument("--nnabla", action="store_true", help="the files nnabla's converter wrote only")
    parser.add_argument("--only", nargs="*", default=[], help="cases whose name holds one of these")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    every = not args.light and not args.pytorch and not args.nnabla
    groups = []
    if args.light or every:
        groups.append(("light models", light_cases()))
    if args.pytorch or every:
        groups.append(("pytorch-converted operator tests", pytorch_cases()))
    if args.nnabla or every:
        groups.append(("files written by nnabla-converter 1.39", nnabla_cases()))
    summary = {}
    for title, cases in groups:
        counts = {"pass": 0, "fail": 0, "unsupported": 0}
        rows = []
        for name, path, inputs, expected in cases:
            if args.only and not any(part in name for part in args.only):
                continue
            verdict, detail = check(path, inputs, expected)
            counts[verdict] += 1
            rows.append({"case": name, "verdict": verdict, "detail": detail})
            if not args.json:
                print(f"{verdict:11} {name}" + (f": {detail}" if detail else ""), flush=True)
        summary[title] = {"counts": counts, "cases": rows}
        if not args.json:
            read = counts["pass"] + counts["fail"]
            print(
                f"{title}: {counts['pass']} of {read} read reproduced within rtol {RTOL:g}; "
                f"{counts['unsupported']} not read (operators nnspec has no layer for)\n"
            )
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if all(group["counts"]["fail"] == 0 for group in summary.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
