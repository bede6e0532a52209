"""Write tests/fixtures/nnc/costs.json: the Cost* figures Neural Network Console itself computes for
specs/lenet.yaml and for the convolution and other layers of COST_SPEC below.

    python scripts/make_nnc_cost_fixture.py NNC_TOOLS_DIR

NNC_TOOLS_DIR is NNC's console tools folder from sony/nnc-desktop
(local_editor/runner_component/tools/nncd_console/: the Linux program ``nncd_console_cli_util`` and
its ``settings/`` folder of layer definitions). Several figures, the convolutions' CostMultiplyAdd
among them (``*ConvolutionMultiplyAddSize``), are computed in that program rather than written as
formulas in the definitions, so the program is the reference: the script writes each spec as an
NNC project (.sdcproj: one layer a section, a link a section), runs the program's ``complete``
command on it, which fills in every layer's Input, Output and Cost* properties as NNC's editor
shows them, and reads them back. tests/test_cost.py compares nnspec's count with them.

Layers with targets (losses) are not written: their second input comes from a dataset variable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nnspec  # noqa: E402  (the checkout's nnspec, whatever is installed)

OUT = ROOT / "tests" / "fixtures" / "nnc" / "costs.json"
COSTS = ("CostParameter", "CostAdd", "CostMultiply", "CostMultiplyAdd", "CostDivision", "CostExp", "CostIf")

# Convolutions of every kind, with groups, strides, dilation and padding, and a few per-value layers.
COST_SPEC = """\
nnspec: 1
name: nnc-costs
layers:
  - {name: x, type: Input, size: [4, 9, 9]}
  - {name: same, type: Convolution, out_maps: 6, kernel_shape: [3, 3], border_mode: same}
  - {name: grouped, type: Convolution, out_maps: 4, kernel_shape: [3, 3], group: 2, strides: [2, 2], padding: [1, 1]}
  - {name: dilated, type: Convolution, out_maps: 8, kernel_shape: [2, 2], dilation: [2, 2], with_bias: false}
  - {name: up, type: Deconvolution, out_maps: 6, kernel_shape: [3, 3], strides: [2, 2]}
  - {name: upg, type: Deconvolution, out_maps: 4, kernel_shape: [2, 2], group: 2}
  - {name: dw, type: DepthwiseConvolution, kernel_shape: [3, 3], multiplier: 2}
  - {name: dwup, type: DepthwiseDeconvolution, kernel_shape: [2, 2], divisor: 2}
  - {name: bn, type: BatchNormalization}
  - {name: tanh, type: Tanh}
  - {name: avg, type: AveragePooling, kernel_shape: [2, 2]}
  - {name: maxp, type: MaxPooling, kernel_shape: [2, 2], ignore_border: false}
  - {name: fc, type: Affine, out_shape: 5, with_bias: false}
  - {name: sig, type: Sigmoid}
  - {name: probs, type: Softmax}
"""

# The layer types whose count NNC's definitions leave to its program, or nnspec had left open: a matrix
# product (NNC's program gives no output shape, and no cost, where one input's leading axes broadcast).
OPEN_SPEC = """\
nnspec: 1
name: nnc-open
layers:
  - {name: a, type: Input, size: [2, 3, 4]}
  - {name: b, type: Input, size: [2, 4, 5]}
  - {name: mm, type: BatchMatmul, input: [a, b]}
  - {name: mean, type: MeanSubtraction, input: mm}
"""


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def nnc_value(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def sdcproj(spec: nnspec.Spec) -> str:
    """The spec as an NNC project: its layers' properties, a link from each input to its pin."""
    lines = ["[Engine]", "SDeepEngineType=NNabla", "[Network_Global]"]
    names = list(spec.order)
    links = [
        (names.index(source), index, pin)
        for index, name in enumerate(names)
        for pin, source in enumerate(spec.layers[name].inputs)
    ]
    lines += [f"NumLayer={len(names)}", f"NumLink={len(links)}"]
    for index, name in enumerate(names):
        layer = spec.layers[name]
        props = {"Name": name}
        for prop in layer.type.properties:
            value = layer.props[prop.name]
            if value is not None and prop.name != "parameter_scope":
                props[camel(prop.name)] = nnc_value(value)
        lines += [f"[Layer_{index}]", f"ID={index}", f"Type={layer.type.name}"]
        lines += [f"Position_{i}={v}" for i, v in enumerate((24, 24 + 48 * index, 240, 48))]
        for number, (key, value) in enumerate(props.items()):
            lines += [f"Property_{number}_Name={key}", f"Property_{number}_Value={value}"]
        lines.append(f"NumProperty={len(props)}")
    for number, (source, target, pin) in enumerate(links):
        lines += [f"[Link_{number}]", f"ID={100 + number}", f"SourceLayerID={source}", "SourcePinIndex=0"]
        lines += [f"DestLayerID={target}", f"DestPinIndex={pin}"]
    return "\n".join(lines) + "\n"


def completed_costs(text: str) -> dict[str, dict[str, object]]:
    """Each layer's Output and Cost* properties in a project NNC completed, by layer name."""
    layers: dict[str, dict[str, object]] = {}
    current: dict[str, str] = {}
    names: dict[str, str] = {}

    def close() -> None:
        if "Name" in current:
            found: dict[str, object] = {key: int(current[key]) for key in COSTS if key in current}
            found["Output"] = [int(v) for v in current["Output"].split(",")]
            layers[current["Name"]] = found

    for line in text.splitlines():
        if line.startswith("["):
            close()
            current, names = {}, {}
        elif line.startswith("Property_") and "=" in line:
            key, value = line.split("=", 1)
            number, field = key[len("Property_") :].split("_", 1)
            if field == "Name":
                names[number] = value
            else:
                current[names[number]] = value
    close()
    return layers


def complete(tools: Path, spec: nnspec.Spec) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as folder:
        source, done = Path(folder) / "in.sdcproj", Path(folder) / "out.sdcproj"
        source.write_text(sdcproj(spec))
        program = tools / "nncd_console_cli_util"
        subprocess.run([str(program), "complete", "-i", str(source), "-o", str(done)], cwd=tools, check=True)
        return completed_costs(done.read_text())


def main(tools: Path) -> None:
    specs = {
        "lenet": nnspec.load(ROOT / "specs" / "lenet.yaml"),
        "nnc-costs": nnspec.loads(COST_SPEC),
        "nnc-open": nnspec.loads(OPEN_SPEC),
    }
    figures = {name: complete(tools, spec) for name, spec in specs.items()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    note = "Cost* per layer as NNC's nncd_console_cli_util complete computes them: scripts/make_nnc_cost_fixture.py"
    written = {"note": note, "specs": {"nnc-costs": COST_SPEC, "nnc-open": OPEN_SPEC}, "projects": figures}
    OUT.write_text(json.dumps(written, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]).resolve())
