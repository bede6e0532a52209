"""A validated spec written as an ONNX model: the network as nnspec runs it, for onnxruntime and others.

What is written is one view of the spec (nnspec.spec.views; the validation view unless another is
asked for), expanded as nnspec runs it (units and repeats written out, recurrent loops step by step),
as nnspec.spec.nntxt_writer writes nnabla's file; layers the view bypasses (Dropout at evaluation)
are not written. The model holds:

- a graph input per data variable the view reads (an Input layer's, named as the layer; a loss's
  target, named as its dataset), float32, with the batch axis symbolic (``N``): any number of samples runs;
- an initializer per parameter, named as nnabla names it (``fc1/affine/W``), written once when layers
  share it, its values those given (``--params``) or drawn from the initializers as ``nnspec run`` draws them;
- a few nodes per layer (the table ``OPS``: layer type -> a function emitting its nodes), NCHW, each
  layer's value in a tensor named as the layer;
- a graph output per output layer of the view, named as the layer.

The opset is 17 (``OPSET``): the one every maintained runtime and converter reads (PyTorch's default
export opset, onnxruntime since 1.11); nothing nnspec writes needs a later one: the per-sample
normalizations are written out as ReduceMean, Sub, Div... (nnabla's exact formula), not as ONNX's
LayerNormalization (17) or GroupNormalization (18, whose scale changed shape in 21); FFT and IFFT are
opset 17's DFT. docs/onnx.md. Where nnspec's numpy computes in float64 and rounds once, the nodes do
too (Cast to double and back); where an ONNX operator does not say nnspec's formula (atan2's signed
zeros, a running product, rounding halves away from 0, a log2 rounded), the nodes say it.

Every layer type is written (``REFUSED``, the types without an exact ONNX form and why, is empty). What
is refused is a layer that draws at random in the view (the augmentations in the training view, an
applied Dropout, RandomCrop with a shape) and a side input a generator other than Constant draws:
one UsageError naming every such layer of the spec at once, before anything is drawn or written.
``unwritable_layers`` gives the verdict layer by layer (``unwritable_reason`` one layer's), which the
onnxruntime engine follows to run such layers on numpy (nnspec.runtime.mixed).

The package: builder.py (the graph under construction, ``Op``), assembly.py (``write_onnx``: a view's
layers emitted in order, the model made), refusals.py (what is refused and why), and ops.py, the table
``OPS`` assembled from the op families' own tables, one module each: elementwise, comparisons,
float64, convolutions, pools, feature_norms, weight_norms, shapes, losses, matrices, quantizers,
detection, random_layers. A layer type's ONNX form is one entry in its family's ``OPS``.
"""

from .assembly import write_onnx
from .builder import OPSET, layer_tensors, onnx_module
from .ops import OPS
from .refusals import REFUSED, refuse_unwritable, unwritable_layers, unwritable_reason

__all__ = [
    "OPS",
    "OPSET",
    "layer_tensors",
    "REFUSED",
    "onnx_module",
    "refuse_unwritable",
    "unwritable_layers",
    "unwritable_reason",
    "write_onnx",
]
