"""Which computation a run performs: NNC's evaluation (the default) or its training forward pass.

NNC evaluates a network with some layer arguments replaced: its layer definitions mark them
(an ``ArgumentName`` ending in ``-test=<value>``), and layers with a ``SkipAtTest`` property set
are left out, their consumers reading their input. In sony/nnc-desktop's layer definitions
(settings/NNabla/layer_component) these are:

- ``-test=``: BatchNormalization ``batch_stat`` False, FusedBatchNormalization ``batch_stat``
  False, MeanSubtraction ``update_running_mean`` False, SpectralNorm ``test`` True;
- ``SkipAtTest`` (default true): Dropout, and the augmentation layers ImageAugmentation,
  RandomErase, RandomFlip and RandomShift.

nnspec has all of these but FusedBatchNormalization and SpectralNorm; each carries its part of the
list in the catalog (``LayerType.test_arguments``, ``LayerType.skip_at_test``), and this module is
the one place that turns a layer's properties into the ones a run uses. The runner, the range
checks (through the spec a run hands them) and ``validate``'s static prediction all read the
properties from here, so they agree on what runs.

The views of a network (nnspec.spec.views) choose between the two: the validation and runtime
views evaluate, the training view trains; the runtime view also leaves layers out, which is
views' business, not this module's.

At evaluation no layer reads other samples of its batch, so outputs never depend on the batch
size. In training, BatchNormalization's batch statistics (and MeanSubtraction's running-mean
update) do; Dropout's pattern is drawn per sample from the layer's seed (when the layer's is NNC's
-1, one derived from the spec's seed and the layer's name), so it does not; the augmentation
layers draw per sample from their seed and the sample's index (nnspec.layers.augmentation), so they
do not either.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..layers.catalog import LayerType
from .model import Spec

EVALUATION = "evaluation"
TRAINING = "training"

# How reports say what ran, one line each.
DESCRIPTIONS = {
    EVALUATION: "NNC's evaluation: BatchNormalization uses its stored mean and var, MeanSubtraction its stored "
    "mean, Dropout is skipped; results do not depend on the batch size",
    TRAINING: "training (--training): BatchNormalization uses each batch's statistics, Dropout drops values; "
    "results of BatchNormalization depend on the batch size",
}


def semantics_name(training: bool) -> str:
    """The name of the computation: ``"training"`` or ``"evaluation"``."""
    return TRAINING if training else EVALUATION


def effective_props(layer_type: LayerType, props: Mapping[str, Any], *, training: bool, seed: int) -> dict[str, Any]:
    """A layer's properties as a run of that kind uses them.

    Evaluation: NNC's test-time arguments replace the spec's values (a ``batch_stat: true`` is a
    training setting). Training: a layer skipped at test runs (``skip_at_test`` false). Both: a
    random layer's seed of -1 (NNC's "no fixed seed") becomes ``seed`` (see layer_seed), so a run
    is reproducible and follows the spec's ``seed:``.
    """
    effective = dict(props)
    if training:
        if layer_type.skip_at_test:
            effective["skip_at_test"] = False
    else:
        effective.update(layer_type.test_arguments)
    if "seed" in effective and effective["seed"] == -1:
        effective["seed"] = seed
    return effective


def layer_seed(spec_seed: int, layer: str) -> int:
    """The seed a layer of seed -1 draws from: the spec's seed and the layer's name together, so two
    Dropout layers reading the same tensor drop different values (as nnabla's global generator
    would), and the same spec always draws the same."""
    return zlib.crc32(f"{spec_seed}/{layer}".encode()) & 0x7FFFFFFF


def as_run(spec: Spec, *, training: bool = False) -> Spec:
    """The spec with every layer's properties as a run of that kind uses them (effective_props):
    the spec itself when nothing changes, else a copy sharing everything but the changed layers."""
    layers = {}
    for name, layer in spec.layers.items():
        props = effective_props(layer.type, layer.props, training=training, seed=layer_seed(spec.seed, name))
        layers[name] = layer if props == layer.props else replace(layer, props=props)
    if all(layers[name] is layer for name, layer in spec.layers.items()):
        return spec
    return replace(spec, layers=layers)
