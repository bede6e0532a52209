"""NNC's project settings (the DATASET and CONFIG tabs): the ``project:`` section of a spec.

An NNC project holds, beside its networks, its datasets, training configuration, optimizers,
monitors and executors (docs/nnc.md, "The project: section"). nnspec keeps them in ``project:``
with readable snake_case keys and typed values, so that .sdcproj -> YAML -> .sdcproj loses none of
them. ONE table per NNC section, ``SECTIONS``, maps each NNC key to its YAML key and its kind; the
reader (nnspec.spec.sdcproj) and the writer (nnspec.spec.sdcproj_write) both go through it, so what
one writes the other reads back by construction.

Kinds: ``text`` (as written), ``int``, ``number`` (an int where NNC wrote one, else a float),
``flag`` (NNC's 0/1 as false/true) and a tuple of choices (NNC writes the index: 0 epoch, 1
iteration). An empty value of a typed kind is ``null``. A value that does not fit its kind
(NNC writes ``undefined`` for some) and a key the table does not know are kept verbatim under the
entry's ``other: {NNCKey: text}``, and a section nnspec does not know under ``project.other:
{Section: {Key: text}}``: nothing NNC writes is lost, and the writer writes them back as they were.

Only the reference check (every network and dataset an optimizer, monitor or executor names
exists) is made here; nnspec.runtime reads the datasets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import codes
from ..core.diagnostics import DiagnosticList

if TYPE_CHECKING:  # annotations only: the model imports nothing of this module, nor this of it at import
    from .model import Spec

Kind = str | tuple[str, ...]  # text, int, number, flag, or the choices NNC writes by index


@dataclass(frozen=True)
class Key:
    nnc: str  # NNC's key in the section
    yaml: str  # the key in the spec; a dot nests it (learning_rate.scheduler)
    kind: Kind = "text"


@dataclass(frozen=True)
class SectionTable:
    """One of NNC's non-network sections: where it goes in ``project:``, its keys, and the keys NNC
    derives (counts) that the writer writes and the reader does not keep."""

    nnc: str  # the section's name, or its stem for an indexed family (Optimizer_ for Optimizer_0...)
    yaml: str
    keys: tuple[Key, ...]
    indexed: bool = False  # a list of entries, [Optimizer_0], [Optimizer_1]...
    derived: tuple[str, ...] = ()


UNITS = ("epoch", "iteration")
SECTIONS: tuple[SectionTable, ...] = (
    SectionTable("General", "general", (Key("IsSample", "is_sample", "flag"),)),
    SectionTable(
        "Engine", "engine", (Key("RNNTrainingMode", "rnn_training_mode", "flag"),), derived=("SDeepEngineType",)
    ),
    SectionTable(
        "Dataset_",
        "datasets",
        (
            Key("Name", "name"),
            Key("URI", "uri"),
            Key("Shuffle", "shuffle", "flag"),
            Key("EnableCache", "cache", "flag"),
            Key("ImageNormalization", "image_normalization", "flag"),
            Key("NumData", "num_data", "int"),
        ),
        indexed=True,
    ),
    SectionTable(
        "Config",
        "config",
        (
            Key("MaxEpoch", "max_epoch", "int"),
            Key("SaveBest", "save_best", "flag"),
            Key("BatchSize", "batch_size", "int"),
            Key("TypeConfig", "type_config"),
            Key("MonitorInterval", "monitor_interval", "int"),
            Key("AutoEvaluation", "auto_evaluation", "flag"),
        ),
        derived=("NumOptimizer", "NumMonitor", "NumExecutor"),
    ),
    SectionTable(
        "Optimizer_",
        "optimizers",
        (
            Key("Optimizer_Name", "name"),
            Key("Optimizer_NetworkName", "network"),
            Key("Optimizer_DatasetName", "dataset"),
            Key("RangeFrom", "range_from", "int"),
            Key("RangeTo", "range_to", "int"),
            Key("RangeUnit", "range_unit", UNITS),
            Key("UpdateInterval", "update_interval", "int"),
            Key("SolverName", "solver"),
            Key("WeightDecay", "weight_decay", "number"),
            Key("LearningRateScheduler", "learning_rate.scheduler"),
            Key("LearningRateMultiplier", "learning_rate.multiplier", "number"),
            Key("LearningRateUpdateInterval", "learning_rate.update_interval", "int"),
            Key("LearningRateUpdateIntervalUnit", "learning_rate.update_interval_unit", UNITS),
            Key("LearningRatePower", "learning_rate.power", "number"),
            Key("LearningRateSteps", "learning_rate.steps"),
            Key("NumLearningRateStep", "learning_rate.num_steps", "int"),
            Key("LearningRateWarmupScheduler", "learning_rate.warmup_scheduler"),
            Key("LearningRateWarmupLength", "learning_rate.warmup_length", "int"),
            Key("LearningRateWarmupLengthUnit", "learning_rate.warmup_length_unit", UNITS),
        ),
        indexed=True,  # SolverParameterNum, SolverParameterName_k, SolverParameter_k: solver_parameters
    ),
    SectionTable(
        "Monitor_",
        "monitors",
        (Key("Monitor_Name", "name"), Key("Monitor_NetworkName", "network"), Key("Monitor_DatasetName", "dataset")),
        indexed=True,
    ),
    SectionTable(
        "Executor_",
        "executors",
        (
            Key("Executor_Name", "name"),
            Key("Executor_NetworkName", "network"),
            Key("Executor_DatasetName", "dataset"),
            Key("NumEvaluations", "num_evaluations", "int"),
            Key("RepeatEvaluationType", "repeat_evaluation_type", ("mean", "last")),
            Key("NeedBackPropagation", "need_back_propagation", "flag"),
        ),
        indexed=True,
    ),
    SectionTable("Script", "script", (Key("Enabled", "enabled", "flag"), Key("NumScript", "num_script", "int"))),
    SectionTable(
        "StructureSearch",
        "structure_search",
        (
            Key("Enabled", "enabled", "flag"),
            Key("Method", "method"),
            Key("Objective", "objective"),
            Key("Validation_Min", "validation_min", "number"),
            Key("Validation_Max", "validation_max", "number"),
            Key("CostMultiplyAdd_Min", "cost_multiply_add_min", "number"),
            Key("CostMultiplyAdd_Max", "cost_multiply_add_max", "number"),
            Key("EarlyStopping", "early_stopping", "flag"),
            Key("TimeLimit", "time_limit", "number"),
            Key("SetLearningRateOfConvolutionAsZero", "set_learning_rate_of_convolution_as_zero", "flag"),
            Key("AttemptHours", "attempt_hours", "number"),
            Key("AttemptTimes", "attempt_times", "int"),
            Key("NumParallel", "num_parallel", "int"),
        ),
    ),
    SectionTable(
        "OutOfCoreTraining",
        "out_of_core_training",
        (
            Key("Enabled", "enabled", "flag"),
            Key("GPUMemorySize", "gpu_memory_size", "number"),
            Key("WindowSize", "window_size", "number"),
        ),
    ),
)
BY_YAML = {table.yaml: table for table in SECTIONS}
# Where each indexed family's count is: [Dataset] Num, [Config] NumOptimizer...
COUNTS = {"Dataset_": ("Dataset", "Num"), "Optimizer_": ("Config", "NumOptimizer")}
COUNTS.update({"Monitor_": ("Config", "NumMonitor"), "Executor_": ("Config", "NumExecutor")})
MAIN_DATASET = ("Dataset", "MainIndex")  # [Dataset] MainIndex: the main dataset, kept by name
OTHER = "other"  # NNC keys (or sections) the table does not know, or values that fit no kind: verbatim
MAIN_NETWORK = "main_network"  # the NNC tab name of the spec's main network (layers:), when not Main
TABS = "tabs"  # NNC's order of the network tabs, where the main network is not the first
DERIVED_NETWORKS = ("Validation", "Runtime")  # NNC derives MainValidation and MainRuntime from Main
# The order of project: keys as the reader writes them (NNC's section order).
ORDER = (
    MAIN_NETWORK,
    TABS,
    "general",
    "engine",
    "datasets",
    "main_dataset",
    "config",
    "optimizers",
    "monitors",
    "executors",
    "script",
    "structure_search",
    "out_of_core_training",
    OTHER,
)

_INT = re.compile(r"-?\d{1,15}")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_SOLVER_NAME = re.compile(r"SolverParameterName_(\d+)")


# -- values: NNC's text <-> a typed value ------------------------------------------------------------


_UNFIT = object()  # NNC's text that is no value of its kind: kept verbatim under other:


def parse(text: str, kind: Kind) -> Any:
    """A typed value from NNC's text, or _UNFIT."""
    if kind == "text":
        return text
    if text == "":
        return None
    if isinstance(kind, tuple):
        return kind[int(text)] if _INT.fullmatch(text) and 0 <= int(text) < len(kind) else _UNFIT
    if kind == "flag":
        return {"0": False, "1": True}.get(text, _UNFIT)
    if kind == "int":
        return int(text) if _INT.fullmatch(text) else _UNFIT
    if _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        value = float(text)
        return value if math.isfinite(value) else _UNFIT
    return _UNFIT


def unparse(value: Any, kind: Kind) -> str:
    """NNC's text of a typed value (the inverse of parse)."""
    if value is None:
        return ""
    if isinstance(kind, tuple):
        return str(kind.index(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if not isinstance(value, float) else repr(value)


def fits(value: Any, kind: Kind) -> bool:
    """Whether a spec's value is one of the kind (what the writer can write as NNC reads it)."""
    if value is None:
        return kind != "text"
    if isinstance(kind, tuple):
        return value in kind
    if kind == "text":
        return isinstance(value, str)
    if kind == "flag":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def solver_key(nnc_name: str) -> str | None:
    """A solver parameter's spec key: snake_case of NNC's (Beta1 -> beta1, LearningRate ->
    learning_rate); None where snake_case would not give NNC's name back (the reader then keeps
    the optimizer's solver parameters verbatim under other:)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", nnc_name).lower()
    return snake if snake and solver_nnc_name(snake) == nnc_name else None


def solver_nnc_name(key: str) -> str:
    """NNC's name of a solver parameter's spec key: beta1 -> Beta1, learning_rate -> LearningRate."""
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


# -- schema ------------------------------------------------------------------------------------------


def _kind_schema(kind: Kind) -> dict[str, Any]:
    if isinstance(kind, tuple):
        return {"enum": [*kind, None]}
    schemas: dict[str, dict[str, Any]] = {
        "text": {"type": "string"},
        "flag": {"type": ["boolean", "null"]},
        "int": {"type": ["integer", "null"]},
        "number": {"type": ["number", "null"]},
    }
    return schemas[kind]


def _other_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "NNC keys nnspec does not know (or values that fit no kind), kept verbatim for the round trip.",
        "additionalProperties": {"type": "string"},
    }


def _entry_schema(table: SectionTable) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key in table.keys:
        head, _, rest = key.yaml.partition(".")
        schema = {**_kind_schema(key.kind), "description": f"NNC's {key.nnc}."}
        if rest:
            group = properties.setdefault(
                head,
                {
                    "type": "object",
                    "description": f"NNC's {head.replace('_', ' ').title().replace(' ', '')}* keys.",
                    "additionalProperties": False,
                    "properties": {},
                },
            )
            group["properties"][rest] = schema
        else:
            properties[head] = schema
    if table.yaml == "optimizers":
        properties["solver_parameters"] = {
            "type": "object",
            "description": "The solver's parameters (NNC's SolverParameterName_k/SolverParameter_k), snake_case.",
            "additionalProperties": {"type": ["number", "string"]},
        }
    properties[OTHER] = _other_schema()
    return {"type": "object", "additionalProperties": False, "properties": properties}


def project_schema() -> dict[str, Any]:
    """The JSON Schema of ``project:`` (nnspec.spec.schema places it)."""
    properties: dict[str, Any] = {
        MAIN_NETWORK: {
            "type": "string",
            "minLength": 1,
            "description": "NNC's tab name of the main network (layers:); default Main.",
        },
        "main_dataset": {"type": "string", "description": "NNC's [Dataset] MainIndex, by the dataset's name."},
        TABS: {
            "type": "array",
            "items": {"type": "string"},
            "description": "NNC's order of the network tabs ([Global] Network_k), where the main network is not "
            "the first: each network once, by name (the main one by main_network).",
        },
    }
    for table in SECTIONS:
        entry = _entry_schema(table)
        if table.indexed:
            properties[table.yaml] = {"type": "array", "items": {**entry, "required": ["name"]}}
        else:
            properties[table.yaml] = entry
        properties[table.yaml]["description"] = f"NNC's [{table.nnc}{'N' if table.indexed else ''}] section" + (
            "s, in order." if table.indexed else "."
        )
    properties[OTHER] = {
        "type": "object",
        "description": "NNC sections nnspec does not know, kept verbatim: {Section: {Key: text}}.",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    return {
        "type": "object",
        "description": "NNC's project settings beside the networks: datasets, config, optimizers, monitors, "
        "executors (docs/nnc.md). Kept for the round trip with .sdcproj; nnspec checks their references.",
        "additionalProperties": False,
        "properties": properties,
    }


# -- references --------------------------------------------------------------------------------------


def network_names(data: dict[str, Any], derived: bool = True) -> set[str]:
    """The networks a project's settings may name: the tabs, and (``derived``) the views NNC
    derives from each."""
    project = data.get("project")
    main = project.get(MAIN_NETWORK, "Main") if isinstance(project, dict) else "Main"
    networks = data.get("networks")
    tabs = {main if isinstance(main, str) else "Main", *(networks if isinstance(networks, dict) else {})}
    return tabs | ({tab + view for tab in tabs for view in DERIVED_NETWORKS} if derived else set())


def check_references(data: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """Every network and dataset an optimizer, monitor or executor names exists; main_dataset too.
    Located at the key that names it."""
    project = data.get("project")
    if not isinstance(project, dict):
        return
    networks = network_names(data)
    datasets = [d.get("name") for d in project.get("datasets", []) if isinstance(d, dict)]
    for family in ("optimizers", "monitors", "executors"):
        for index, entry in enumerate(project.get(family, [])):
            if not isinstance(entry, dict):
                continue
            where = ("project", family, index)
            network, dataset = entry.get("network"), entry.get("dataset")
            if isinstance(network, str) and network not in networks:
                diagnostics.add(
                    f"{family[:-1]} '{entry.get('name')}' names network '{network}', which the spec does not hold "
                    f"(its networks: {', '.join(sorted(networks))})",
                    (*where, "network"),
                    code=codes.UNKNOWN_NETWORK,
                )
            if isinstance(dataset, str) and dataset not in datasets:
                diagnostics.add(
                    f"{family[:-1]} '{entry.get('name')}' names dataset '{dataset}', which project.datasets does not "
                    f"hold ({_listed(datasets)})",
                    (*where, "dataset"),
                    code=codes.UNKNOWN_DATASET,
                )
    tabs = project.get(TABS)
    written = network_names(data, derived=False)
    if isinstance(tabs, list) and (sorted(map(str, tabs)) != sorted(written)):
        diagnostics.add(
            f"project.tabs lists the networks in NNC's order: each of {', '.join(sorted(written))} once; "
            f"got {', '.join(map(str, tabs)) or 'none'}",
            ("project", TABS),
            code=codes.UNKNOWN_NETWORK,
        )
    main = project.get("main_dataset")
    if isinstance(main, str) and main not in datasets:
        diagnostics.add(
            f"main_dataset '{main}' is none of project.datasets ({_listed(datasets)})",
            ("project", "main_dataset"),
            code=codes.UNKNOWN_DATASET,
        )


def _listed(names: Iterable[Any]) -> str:
    shown = [str(name) for name in names]
    return "datasets: " + ", ".join(shown) if shown else "none"


# -- reading: NNC's sections -> project: --------------------------------------------------------------


@dataclass
class Located:
    """What the reader hands in: the sections (name -> object with .entries: key -> Entry with
    .value, .line, .column; and .line), and how to record a value's place and a problem."""

    sections: dict[str, Any]
    at: Callable[[tuple, Any], None]  # (path in the spec, an Entry or a Section) -> recorded
    problem: Callable[[str, Any], None]  # (message, Entry or None) -> an error


def read_project(
    source: Located, main_network: str | None, tabs: list[str] | None = None
) -> tuple[dict[str, Any], set[str]]:
    """``project:`` from a project's sections, and the names of the sections it read."""
    project: dict[str, Any] = {}
    read: set[str] = set()
    if main_network is not None:
        project[MAIN_NETWORK] = main_network
    if tabs is not None:
        project[TABS] = list(tabs)
    for table in SECTIONS:
        if table.indexed:
            entries = _read_family(source, table, read)
            if entries:
                project[table.yaml] = entries
                source.at(("project", table.yaml), source.sections[f"{table.nnc}0"])
        elif table.nnc in source.sections:
            read.add(table.nnc)
            section = source.sections[table.nnc]
            entry = _read_entry(source, table, section, ("project", table.yaml))
            if entry:  # a section of counts only ([Config] of a new project) says nothing the counts do not
                project[table.yaml] = entry
                source.at(("project", table.yaml), section)
    main = _main_dataset(source, project.get("datasets", []))
    if main is not None:
        project["main_dataset"] = main
    read.add("Dataset")
    return {key: project[key] for key in ORDER if key in project}, read


def _read_family(source: Located, table: SectionTable, read: set[str]) -> list[dict[str, Any]]:
    counted_in, key = COUNTS[table.nnc]
    count_entry = source.sections.get(counted_in, None)
    count_entry = count_entry.entries.get(key) if count_entry is not None else None
    if count_entry is not None and _INT.fullmatch(count_entry.value) and 0 <= int(count_entry.value) <= 10_000:
        count = int(count_entry.value)
    else:  # no count (or no integer): the family's sections as they are numbered
        if count_entry is not None:
            source.problem(f"{key} must be a count (0 to 10,000); got {count_entry.value!r}", count_entry)
        count = 0
        while f"{table.nnc}{count}" in source.sections and count < 10_000:
            count += 1
    entries: list[dict[str, Any]] = []
    for index in range(count):
        name = f"{table.nnc}{index}"
        section = source.sections.get(name)
        if section is None:
            source.problem(f"[{name}] is missing: [{counted_in}] says {key}={count}", count_entry)
            continue
        read.add(name)
        path = ("project", table.yaml, len(entries))
        source.at(path, section)
        entries.append(_read_entry(source, table, section, path))
    return entries


def _read_entry(source: Located, table: SectionTable, section: Any, path: tuple) -> dict[str, Any]:
    """One section's keys by the table: typed where they fit, the rest under other:."""
    by_nnc = {key.nnc: key for key in table.keys}
    entry: dict[str, Any] = {}
    other: dict[str, str] = {}
    solver = _solver_parameters(section) if table.yaml == "optimizers" else None
    for nnc, item in section.entries.items():
        key = by_nnc.get(nnc)
        if solver is not None and nnc in solver[1]:
            continue  # read into solver_parameters (with its count, SolverParameterNum)
        if nnc in table.derived:
            continue
        value = _UNFIT if key is None else parse(item.value, key.kind)
        if value is _UNFIT:
            other[nnc] = item.value
            source.at((*path, OTHER, nnc), item)
            continue
        assert key is not None
        head, _, rest = key.yaml.partition(".")
        if rest:
            entry.setdefault(head, {})[rest] = value
            source.at((*path, head, rest), item)
            if len(entry[head]) == 1:
                source.at((*path, head), item)
        else:
            entry[head] = value
            source.at((*path, head), item)
    if solver is not None and solver[1]:
        entry["solver_parameters"] = solver[0]
        source.at((*path, "solver_parameters"), section)
        for name in solver[0]:
            source.at((*path, "solver_parameters", name), section)
    if other:
        entry[OTHER] = other
    return _ordered(entry, table)


def _ordered(entry: dict[str, Any], table: SectionTable) -> dict[str, Any]:
    """The entry's keys in the table's order (solver_parameters after solver, other last)."""
    order: list[str] = []
    for key in table.keys:
        head = key.yaml.partition(".")[0]
        if head not in order:
            order.append(head)
        if key.yaml == "solver":
            order.append("solver_parameters")
    order.append(OTHER)
    nested: dict[str, list[str]] = {key.yaml.partition(".")[0]: [] for key in table.keys if "." in key.yaml}
    for key in table.keys:
        head, _, rest = key.yaml.partition(".")
        if rest:
            nested[head].append(rest)
    for head, inner in nested.items():
        if isinstance(entry.get(head), dict):
            entry[head] = {key: entry[head][key] for key in inner if key in entry[head]}
    return {key: entry[key] for key in order if key in entry}


def _solver_parameters(section: Any) -> tuple[dict[str, Any], set[str]]:
    """An optimizer's solver parameters (SolverParameterName_k = SolverParameter_k), and the keys
    they were read from; a pair that is incomplete, or a value that is no number, stays in other:."""
    parameters: dict[str, Any] = {}
    used: set[str] = set()
    for nnc, item in section.entries.items():
        match = _SOLVER_NAME.fullmatch(nnc)
        value = section.entries.get(f"SolverParameter_{match.group(1)}") if match else None
        if match is None or value is None:
            continue
        parsed = parse(value.value, "number")
        key = solver_key(item.value)
        if parsed is _UNFIT or parsed is None or key is None or key in parameters:
            return {}, set()  # one pair that would not be written back as it is: all kept verbatim
        parameters[key] = parsed
        used |= {nnc, f"SolverParameter_{match.group(1)}"}
    # only a run of pairs numbered 0..n-1 is written back as it was read
    count = section.entries.get("SolverParameterNum")
    pairs = {f"SolverParameter{part}_{k}" for k in range(len(parameters)) for part in ("Name", "")}
    if used != pairs or count is None or count.value != str(len(parameters)):
        return {}, set()
    return parameters, used | {"SolverParameterNum"}


def _main_dataset(source: Located, datasets: list[dict[str, Any]]) -> str | None:
    section = source.sections.get(MAIN_DATASET[0])
    entry = section.entries.get(MAIN_DATASET[1]) if section is not None else None
    if entry is None or not datasets:
        return None
    if _INT.fullmatch(entry.value) and 0 <= int(entry.value) < len(datasets):
        name = datasets[int(entry.value)].get("name")
        if isinstance(name, str):
            source.at(("project", "main_dataset"), entry)
            return name
    source.problem(f"MainIndex={entry.value!r} is no dataset's index (0 to {len(datasets) - 1})", entry)
    return None


# -- writing: project: -> NNC's sections --------------------------------------------------------------


Lines = list[tuple[str, str]]  # a section's Key=Value lines, in order


def write_project(project: dict[str, Any], description: str) -> list[tuple[str, Lines]]:
    """NNC's non-network sections, in the order NNC writes them, from ``project:`` (valid, and
    checked by ``unwritable`` first)."""
    sections: list[tuple[str, Lines]] = []
    for table in SECTIONS:
        value = project.get(table.yaml)
        if table.yaml == "general":
            if value is not None:
                sections.append(("General", _entry_lines(table, value)))
        elif table.yaml == "engine":
            sections.append(("Engine", [("SDeepEngineType", "NNabla"), *_entry_lines(table, value or {})]))
        elif table.indexed:
            entries = value or []
            if table.yaml == "datasets":
                sections.append(("Dataset", [("Num", str(len(entries))), ("MainIndex", _main_index(project))]))
            sections.extend((f"{table.nnc}{i}", _entry_lines(table, entry)) for i, entry in enumerate(entries))
            if table.yaml == "datasets":
                sections.append(("Description", [("Text", description.replace("\n", "\\n"))]))
        elif table.yaml == "config":
            counts = [(f"Num{family[:-1].title()}", str(len(project.get(family, [])))) for family in _FAMILIES]
            sections.append(("Config", [*_entry_lines(table, value or {}), *counts]))
        elif value is not None:
            sections.append((table.nnc, _entry_lines(table, value)))
    for name, keys in (project.get(OTHER) or {}).items():
        sections.append((name, list(keys.items())))
    return sections


_FAMILIES = ("optimizers", "monitors", "executors")


def _main_index(project: dict[str, Any]) -> str:
    names = [entry.get("name") for entry in project.get("datasets", [])]
    main = project.get("main_dataset")
    return str(names.index(main)) if main in names else "0"


def _entry_lines(table: SectionTable, entry: dict[str, Any]) -> Lines:
    lines: Lines = []
    for key in table.keys:
        head, _, rest = key.yaml.partition(".")
        holder = entry.get(head) if rest else entry
        field = rest or head
        if isinstance(holder, dict) and field in holder:
            lines.append((key.nnc, unparse(holder[field], key.kind)))
        if key.yaml == "solver" and "solver_parameters" in entry:
            parameters = entry["solver_parameters"]
            lines.append(("SolverParameterNum", str(len(parameters))))
            for k, (name, value) in enumerate(parameters.items()):
                lines.append((f"SolverParameterName_{k}", solver_nnc_name(name)))
                lines.append((f"SolverParameter_{k}", unparse(value, "number")))
    lines.extend((key, text) for key, text in (entry.get(OTHER) or {}).items())
    return lines


def unwritable(project: dict[str, Any]) -> list[tuple[tuple, str]]:
    """What in a (schema-valid) ``project:`` NNC's grammar cannot hold: (its path, why). A value
    with a line break, or an ``=`` in a key, would break a Key=Value line."""
    problems: list[tuple[tuple, str]] = []

    def look(value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and ("=" in key or "\n" in key or "\r" in key or key.startswith("[")):
                    problems.append(((*path, key), f"the key {key!r} cannot be an NNC key (=, [ or a line break)"))
                look(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                look(item, (*path, index))
        elif isinstance(value, str) and ("\n" in value or "\r" in value):
            problems.append((path, "a line break cannot be written in an NNC value"))

    look(project, ("project",))
    return problems


def evaluating_executor(spec: Spec) -> dict[str, Any] | None:
    """The first executor that evaluates the network the spec runs: one of its ``networks:`` by that
    name (or NNC's NAMERuntime, NAMEValidation); the main network by any other name (an .sdcproj's
    main network is the one its first executor evaluates, named as NNC named it)."""
    named = set(spec.networks)
    for executor in spec.project.get("executors") or ():
        if not isinstance(executor, dict) or not isinstance(executor.get("network"), str):
            continue
        network = _evaluated(executor["network"], named)
        if network == spec.network or (spec.network is None and network not in named):
            return executor
    return None


def _evaluated(network: str, named: set[str]) -> str:
    """The network an executor's network names: itself, or the one NNC derived it from (MainRuntime: Main)."""
    if network in named:
        return network
    for suffix in DERIVED_NETWORKS:
        if network.endswith(suffix) and network.removesuffix(suffix) in named:
            return network.removesuffix(suffix)
    return network


def images_unnormalised(spec: Spec) -> bool:
    """Whether the dataset a run of the spec reads unless told otherwise (its ``dataset:``, else its
    project's executor's dataset) feeds its images as they are (NNC's ImageNormalization=0): what
    ``validate`` predicts from, as it never opens the dataset. A run's --dataset keeps the setting."""
    if spec.dataset is not None:
        return not spec.image_normalization
    executor = evaluating_executor(spec)
    if executor is None:
        return False
    wanted = executor.get("dataset")
    datasets = [d for d in spec.project.get("datasets") or () if isinstance(d, dict)]
    entry = next((d for d in datasets if d.get("name") == wanted), None)
    return entry is not None and entry.get("image_normalization") is False
