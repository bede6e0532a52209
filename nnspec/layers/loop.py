"""Loop control: NNC's RepeatStart and RepeatEnd, which mark a block of layers repeated ``times`` times.

The two layers are markers, never run: nnspec.spec.expand writes the block out, one copy of its
layers per iteration (``Conv[0]``, ``Conv[1]``, ...), before the graph is built, as nnabla's
expander does with NNC's exports. Their forward and shape rule pass the input through, which is
what the expansion makes of them.
"""

from __future__ import annotations

from .catalog import LayerType, Property, register, same_shape, unary


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
