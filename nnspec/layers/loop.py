"""Loop control: NNC's RepeatStart and RepeatEnd, which mark a block of layers repeated ``times`` times,
and its recurrent layers RecurrentInput, RecurrentOutput and Delay, and the LSTM built from them.

RepeatStart and RepeatEnd are markers, never run: nnspec.spec.expand writes the block out, one copy of its
layers per iteration (``Conv[0]``, ``Conv[1]``, ...), before the graph is built, as nnabla's
expander does with NNC's exports. Their forward and shape rule pass the input through, which is
what the expansion makes of them.

The recurrent layers are unrolled over the sequence by nnspec.spec.recurrence before the graph is
built, as nnabla's expander does: the layers that run are the per-step copies. A RecurrentInput's
copy for step t takes slice t along its axis (its props carry ``step``, which the expansion sets);
a RecurrentOutput stacks its input's per-step copies; a Delay's copy for step 0 gives its Initial
value, and later steps read its input's copy of the step before (no layer of their own). The LSTM is
NNC's LSTM unit: the expansion writes it out as that unit's layers first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .catalog import (
    NO_INPUT,
    PARAMETER_SCOPE,
    Arity,
    LayerType,
    Property,
    Shape,
    ShapeError,
    Target,
    register,
    same_shape,
    unary,
)
from .others import stack_estimate


def _marker(x):
    """o = i (the marker is expanded away before a run)"""
    return x


REPEAT_START = register(
    LayerType(
        name="RepeatStart",
        category="LoopControl",
        formula="o = i (iteration 0), o = the previous iteration's last layer (iteration k > 0)",
        description="Starts a block repeated `times` times: the block is every layer on a path from "
        "RepeatStart to its RepeatEnd, and inside it, reading RepeatStart reads this iteration's input. "
        "Each iteration has its own layers (`Name[k]`) and parameters (`Name[k]/conv/W`); nested repeats "
        "give `Name[i][j]`. The markers themselves are not layers of the network that runs (docs/spec.md, Repeats).",
        forward=unary(_marker),
        infer_shape=same_shape,
        properties=(Property("times", "pint", 3, "How many times the block runs (NNC's Times)."),),
    )
)

REPEAT_END = register(
    LayerType(
        name="RepeatEnd",
        category="LoopControl",
        formula="o = the last iteration's last layer",
        description="Ends the block of the RepeatStart upstream; reading RepeatEnd reads the last "
        "iteration's output, which must have the shape the block receives.",
        forward=unary(_marker),
        infer_shape=same_shape,
    )
)

MARKERS = (REPEAT_START.name, REPEAT_END.name)


# --- recurrence ----------------------------------------------------------------------------------

STEP = "step"  # the key of a RecurrentInput copy's step in its props: set by the expansion, never written


def _recurrent_step(inputs, props, params):
    """o = i[t]: the input's slice t along axis, that axis removed"""
    return np.take(inputs[0], props[STEP], axis=props["axis"] + 1)


def recurrent_step_shape(shapes: Sequence[Shape], props: Mapping[str, Any]) -> Shape:
    """One step's shape: the input's without the recurrent axis."""
    shape, axis = shapes[0], props["axis"]
    if axis >= len(shape):
        raise ShapeError(
            f"axis {axis} is out of range for its input of {len(shape)} axes (batch excluded): "
            f"the time steps run along one of axes 0 to {len(shape) - 1}",
            "axis",
        )
    return (*shape[:axis], *shape[axis + 1 :])


def _stack_steps(inputs, props, params):
    """o = the steps' values stacked along axis"""
    return np.stack(inputs, axis=props["axis"] + 1)


def _stacked_shape(shapes: Sequence[Shape], props: Mapping[str, Any]) -> Shape:
    first, axis = shapes[0], props["axis"]
    if axis > len(first):
        raise ShapeError(
            f"axis {axis} is out of range: the steps are stacked along a new axis before one of the "
            f"{len(first)} axes of a step or after the last, so axis is at most {len(first)}",
            "axis",
        )
    return (*first[:axis], len(shapes), *first[axis:])


def _delay_shape(shapes: Sequence[Shape], props: Mapping[str, Any]) -> Shape:
    if props["size"] is None:
        raise ShapeError("a Delay needs size: the shape of the value it carries to the next step", "size")
    return tuple(props["size"])


def _initial(x):
    """o = Initial (step 0); o = i at the step before (step t > 0)"""
    return x


RECURRENT_INPUT = register(
    LayerType(
        name="RecurrentInput",
        category="LoopControl",
        formula="o = i[..., t, ...] at step t, along axis",
        description="Starts a recurrent loop: splits its input along `axis` into time steps, one per element "
        "of that axis. The loop's layers are those on a path from it to its RecurrentOutput; they run once per "
        "step, as copies named `Name_RecurrentInput[t]` (nnabla's names: the suffix is this layer's name) "
        "sharing one set of parameters (docs/spec.md, Recurrence).",
        forward=_recurrent_step,
        infer_shape=recurrent_step_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],  # a step holds values of the sequence
        properties=(Property("axis", "uint", 0, "The axis of the time steps (batch axis excluded)."),),
    )
)

RECURRENT_OUTPUT = register(
    LayerType(
        name="RecurrentOutput",
        category="LoopControl",
        formula="o = stack(i at step 0, ..., i at step T-1) along axis",
        description="Ends the recurrent loop of the RecurrentInput upstream: stacks its input's value at every "
        "step along a new axis `axis`. Reading it reads the whole sequence.",
        forward=_stack_steps,
        infer_shape=_stacked_shape,
        estimate=stack_estimate,
        properties=(Property("axis", "uint", 0, "Position of the new axis of the steps (batch axis excluded)."),),
    )
)

# The unrolled RecurrentOutput: it reads its input's copy at every step (not in the catalog: the expansion makes it).
STACKED_STEPS = dataclasses.replace(RECURRENT_OUTPUT, arity=Arity(1, None))

INITIAL = Target(
    "Initial",
    "the value at step 0, of shape size (default: Constant 0, NNC's)",
    dataset="c",
    shape=lambda shapes, props: tuple(props["size"]),
    generator="Constant",
    multiplier=0.0,
)

DELAY = register(
    LayerType(
        name="Delay",
        category="LoopControl",
        formula="o = Initial at step 0, o = i at step t-1 at step t",
        description="Its input's value at the step before, inside a recurrent loop. Its input is a layer later "
        "in the step (a cycle through a Delay is the only one a network may have); at step 0 it gives `Initial`, "
        "from data, a generator (default Constant 0) or a layer outside the loop (`Initial: {input: layer}`).",
        forward=unary(_initial),
        infer_shape=_delay_shape,
        elementwise=True,
        properties=(Property("size", "shape", None, "Shape of the value it carries (NNC's Size; required)."),),
        targets=(INITIAL,),
    )
)

# A Delay's copy for step 0: no input, its Initial alone (not in the catalog: the expansion makes it).
DELAY_START = dataclasses.replace(DELAY, arity=NO_INPUT)

LSTM = register(
    LayerType(
        name="LSTM",
        category="Unit",
        formula="c_t = i*g + f*c_{t-1}, h_t = o*tanh(c_t), with g = tanh(A[h_{t-1}, x_t]), "
        "i, f, o = sigmoid(IGate/FGate/OGate [h_{t-1}, x_t]); o = stack(h_t)",
        description="NNC's LSTM unit: a recurrent loop over `axis` of its input. It is written out as the unit's "
        "layers (`LSTM/Affine`, `LSTM/IGate`, `LSTM/FGate`, `LSTM/OGate`, ...: Affine over "
        "[h_{t-1}, x_t] concatenated along `axis`), so its parameters are NNC's: "
        "`{parameter_scope}/Affine/affine/W`, `.../IGate/affine/W`, ... (b likewise), and its output is the "
        "stacked h. H and C give h and c at step 0 (default Constant 0).",
        forward=_stack_steps,  # never run: the expansion writes the unit out
        infer_shape=_stacked_shape,
        output_range=(-1.0, 1.0),  # each h_t is o*tanh(c_t): a sigmoid's (0, 1) times tanh's (-1, 1)
        properties=(
            Property("size", "shape", [100], "Shape of h and c, the state (NNC's Size)."),
            Property(
                "axis",
                "uint",
                0,
                "The axis of the time steps (batch axis excluded); also the axis h "
                "and the step's input are concatenated along.",
            ),
            PARAMETER_SCOPE,
        ),
        targets=(
            Target(
                "H",
                "h at step 0 (NNC's H.Initial; default Constant 0)",
                dataset="h",
                shape=lambda shapes, props: tuple(props["size"]),
                generator="Constant",
                multiplier=0.0,
            ),
            Target(
                "C",
                "c at step 0 (NNC's C.Initial; default Constant 0)",
                dataset="c",
                shape=lambda shapes, props: tuple(props["size"]),
                generator="Constant",
                multiplier=0.0,
            ),
        ),
    )
)

RECURRENT_TYPES = (RECURRENT_INPUT.name, RECURRENT_OUTPUT.name, DELAY.name, LSTM.name)
