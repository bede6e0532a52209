"""Several networks in one spec (NNC's network tabs): ``networks:`` beside the main ``layers:``.

    networks:
      FireModule:
        arguments: {SqueezeMaps: {type: PInt, value: 16}}
        layers: [...]
    layers: [...]                      # the main network (NNC's Main)

A named network is run by ``--network NAME`` (``network=`` in the API), or called by a Unit
layer (nnspec.spec.units). Validation knows every written layer by one flat index, whichever
network it is written in: the main network's layers first (their index is their place in
``layers:``), then each named network's in turn. Everything that locates a layer by
``("layers", index)`` then works for all of them: ``flatten`` gives the document with the flat
list of layers, and tells the source map where each index is written, so an error points at the
network's own line and carries its written path (``networks.FireModule.layers.2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.diagnostics import UsageError
from ..core.printable import printable
from ..core.suggest import did_you_mean
from .expressions import Argument
from .loader import SourceMap
from .model import Layer

MAIN = None  # the main network (``layers:``), as a key of the networks' spans


@dataclass(frozen=True)
class NetworkTable:
    """Where each network's layers are in the flat list: their flat indices, by network name."""

    spans: dict[str | None, range]

    @property
    def named(self) -> list[str]:
        return [name for name in self.spans if name is not None]


@dataclass
class Network:
    """One network of a spec as written: its arguments and its layers (resolved, not expanded)."""

    name: str | None
    arguments: dict[str, Argument]
    layers: dict[str, Layer]
    path: tuple = ()  # where it is written: ("networks", NAME); () for the main network
    complete: bool = True  # False: a layer of it is left out, its error reported (a unit then says no more)
    comments: list[dict[str, Any]] = field(default_factory=list)  # its NNC Comment layers (comments:), as written


def flatten(data: dict[str, Any], source_map: SourceMap) -> tuple[dict[str, Any], NetworkTable]:
    """The document with every network's layers in one flat ``layers`` list (the main network's
    first), the source map told where each named network's layer is written; and the spans."""
    main = data.get("layers")
    if not isinstance(main, list):
        return data, NetworkTable({MAIN: range(0)})
    flat = list(main)
    spans: dict[str | None, range] = {MAIN: range(len(main))}
    starts: dict[str, int] = {}
    networks = data.get("networks")
    for name, network in (networks if isinstance(networks, dict) else {}).items():
        layers = network.get("layers") if isinstance(network, dict) else None
        layers = layers if isinstance(layers, list) else []
        starts[name] = len(flat)
        flat.extend(layers)
        spans[name] = range(starts[name], len(flat))
        for position in range(len(layers)):
            source_map.layer_paths[starts[name] + position] = ("networks", name, "layers", position)
    if not starts:
        return data, NetworkTable(spans)
    _alias_locations(source_map, starts)
    return {**data, "layers": flat}, NetworkTable(spans)


def _alias_locations(source_map: SourceMap, starts: dict[str, int]) -> None:
    """Each location inside a named network's layer, also under its flat path ("layers", k, ...)."""
    for table in (source_map.values, source_map.keys, source_map.expressions):
        for path, where in list(table.items()):
            if len(path) > 3 and path[0] == "networks" and path[2] == "layers" and isinstance(path[3], int):
                start = starts.get(path[1])
                if start is not None:
                    table[("layers", start + path[3]) + path[4:]] = where


def chosen_network(table: NetworkTable, network: str | None) -> str | None:
    """The network to validate and run (None: the main one); UsageError with the closest name for an
    unknown one."""
    if network is None or network in table.spans:
        return network
    named = table.named
    if not named:
        raise UsageError(f"--network {printable(network)}: the spec has no networks: section, only its main network")
    hint = did_you_mean(network, named)
    raise UsageError(
        f"--network {printable(network)}: the spec has no network of that name{hint} (its networks: {', '.join(named)})"
    )
