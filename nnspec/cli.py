"""The command line: a thin layer over the Python API.

Exit codes: 0 fine; 1 a spec is invalid, or the run found errors (or warnings under
--strict); 2 the command line or a file could not be used; 130 Ctrl-C (a run still
reports the samples it ran); 143 SIGTERM and 129 SIGHUP (at once, no report). Whatever the
exit, a file is written whole or not at all. What a command is for goes to stdout: run's report,
findings included, and every --format json, github or sarif output (github and sarif: the
diagnostics or findings alone, for the CI tool reading them); validate's text diagnostics go to
stderr, as a compiler's do, and so do the error that stops a command, the progress bar and the
note after Ctrl-C. `graph` exits 0 once its picture is written, whatever findings it shows; a picture that
needs the missing plot extra (matplotlib) is exit 2, before any run. No traceback reaches the
user unless --debug asks for one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .core import codes
from .core.diagnostics import ERROR, WARNING, Diagnostic, NnspecError, SpecError, UsageError
from .core.printable import guarded_output, printable, unguarded
from .report.renderers import (
    DEFAULT_FORMAT,
    REFERENCE_FORMATS,
    FileResult,
    OutputFormat,
    Streams,
    format_help,
    format_names,
    output_format,
    reference_formats,
)
from .spec.readers import PARAMETER_FORMATS, readable_suffixes, writable_suffixes

if TYPE_CHECKING:  # imported where used: the CLI's start stays light
    from .spec.model import Spec
    from .spec.readers import SpecFormat

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# The spec formats are read from their table (nnspec.spec.readers), so the help names them all.
SPEC_FILE_HELP = f"spec file ({', '.join(readable_suffixes())}; no suffix: YAML)"
SPEC_FILES_HELP = f"spec files ({', '.join(readable_suffixes())}; no suffix: YAML)"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Everything it prints passes nnspec.core.printable's guard: no control
    character, bidi override or workflow command from a spec or a file reaches a terminal or a log."""
    with guarded_output():
        try:
            return _main(argv)
        except Exception:  # --debug: the traceback it asks for, through the guard too (exit 1, as Python's own)
            traceback.print_exc()
            return 1


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        with _terminated_cleanly():
            return args.handler(args)
    except Terminated as exc:  # every temporary file is gone by now, as after Ctrl-C
        with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
            print(f"nnspec: terminated ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum
    except NnspecError as exc:
        if args.debug:
            raise
        if isinstance(exc, SpecError):  # in the command's --format: CI reads an invalid spec's diagnostics too
            _output_format(args).invalid(exc.diagnostics, Streams())
        else:
            print(f"nnspec: error: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except MemoryError:
        if args.debug:
            raise
        print(f"nnspec: error: {_out_of_memory(args)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nnspec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug in nnspec, not bad input
        if args.debug:
            raise
        print(
            f"nnspec: internal error: {type(exc).__name__}: {printable(str(exc))}\n"
            "This is a bug in nnspec; run again with --debug for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_USAGE


class Terminated(BaseException):
    """SIGTERM or SIGHUP asked nnspec to stop: it unwinds as on Ctrl-C, every file it was writing
    removed (write_atomically), but at once and with no report. A BaseException that is no
    KeyboardInterrupt: a run does not turn it into a report of the samples run, as it does Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise Terminated (exit 143 and 129), so that what it
    was writing is cleaned up; a second one ends the process at once. Only in the main thread, and
    only for a signal whose action is the default: one the caller ignores (nohup, for SIGHUP) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise Terminated(signum)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {
        signum: signal.signal(signum, handler) for signum in wanted if signal.getsignal(signum) == signal.SIG_DFL
    }
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnspec",
        description="Validate and run neural network specs written with Neural Network Console's layers.",
        epilog="Exit codes: 0 fine; 1 invalid spec, or the run found errors (or warnings with --strict); "
        "2 the command line, a file or a Dask cluster could not be used; 130 interrupted (Ctrl-C); "
        "143 terminated (SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"nnspec {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (for reporting bugs)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check specs: schema, wiring, shapes",
        description="Check spec files and report every problem at once as FILE:LINE:COL: error: MESSAGE. "
        "Prints nothing for valid specs.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help=SPEC_FILES_HELP)
    _add_format_option(validate, "validate")
    validate.add_argument(
        "--print-resolved",
        action="store_true",
        help="print each valid spec as nnspec reads it, every default and input written out, as YAML on stdout "
        "(text format only)",
    )
    validate.add_argument(
        "--summary",
        action="store_true",
        help="print each valid spec's model summary on stdout: per layer the output shape, parameters and "
        "multiply-adds per sample as NNC counts them, and the output's bytes per sample and for a batch, then "
        "the totals and the peak memory nnspec run needs on the spec's data (text format only)",
    )
    validate.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="with --summary: size the batch and the peak memory for a run of N samples at a time (default: all, "
        "as nnspec run)",
    )
    validate.add_argument(
        "--samples",
        type=_positive_int,
        metavar="N",
        help="with --summary: the samples a run generates when every Input uses a generator (default: 100, as "
        "nnspec run)",
    )
    validate.add_argument(
        "--no-data",
        action="store_true",
        help="check the specs without their data files: the files a spec names (dataset:, a parameter's file:) "
        "are not opened, nor required to exist (for CI where data lives outside git); their paths must still "
        "lead into the allowed root",
    )
    _add_allow_path(validate)
    _add_view_options(validate, "predict the run of")
    _add_network_option(validate, "validate")
    _add_check_options(validate, strict="exit 1 on predicted warnings too")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser(
        "run",
        help="run a spec in numpy and report per-layer statistics and range warnings",
        description="Run a spec on data from --input files, an NNC dataset CSV (--dataset), the spec's data: "
        "section or its generators; "
        "print per-layer statistics and the output values, and warn where values reach a layer "
        "in a range that destroys information.",
    )
    run.add_argument("file", metavar="FILE", help=SPEC_FILE_HELP)
    _add_data_options(run)
    _add_view_options(run, "run")
    _add_network_option(run, "run")
    _add_allow_path(run)
    run.add_argument(
        "--output",
        metavar="PATH",
        help="save the output layers' values: .npz (every output, by name), .npy (the only output) or .csv "
        "(one row a sample, header name__0,name__1,...)",
    )
    run.add_argument(
        "--save-params",
        metavar="PATH",
        help="save the parameters used, by nnabla name, to a .npz file (--params PATH repeats the run)",
    )
    run.add_argument(
        "--plots",
        metavar="DIR",
        help="write a PNG a layer into DIR (made if missing): histograms of what it received and gave, its "
        "well-behaved range and the ranges where it saturates, and an activation's curve (plot extra)",
    )
    run.add_argument(
        "--report",
        metavar="PATH",
        help="write one self-contained HTML file: the graph, the layer table, the findings and the plots, "
        "navigable by layer (plot extra)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="overwrite --output, --save-params, --report or the --plots files if they exist",
    )
    _add_format_option(run, "run")
    run.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar, and a text report of the scores and findings only (no layer table or values)",
    )
    run.add_argument(
        "--summary",
        action="store_true",
        help="append the model summary to the text report: per layer parameters and multiply-adds per sample as "
        "NNC counts them, the output's bytes per sample and for a batch, the totals and the run's peak memory "
        "(the JSON report has them whatever the option: each layer's cost, totals, memory)",
    )
    _add_cluster_options(run)
    _add_check_options(run, strict="exit 1 on warnings too")
    run.set_defaults(handler=_run)

    graph = commands.add_parser(
        "graph",
        help="draw the layer graph (DOT, SVG or PNG), boxes coloured by their findings",
        description="Draw the spec's layers as boxes (name, type, output shape, key properties) with arrows for "
        "the data flow, each box coloured by its worst finding: of the static analysis nnspec validate does, or "
        "with --run of a run. The suffix of -o PATH picks the format: .dot (Graphviz text, needs nothing), .svg "
        "or .png (need matplotlib: pip install matplotlib). Without -o, DOT goes to stdout.",
        epilog="Exit codes: 0 the picture was written, whatever findings it shows; 1 the spec is invalid; "
        "2 the command line, a file or a Dask cluster (--run --scheduler) could not be used, or the plot extra is "
        "missing; 130 interrupted.",
    )
    graph.add_argument("file", metavar="FILE", help=SPEC_FILE_HELP)
    graph.add_argument("-o", "--output", metavar="PATH", help="write the picture to PATH (.dot, .svg or .png)")
    graph.add_argument(
        "--run",
        action="store_true",
        help="colour the boxes by the findings of a run, on the data the options below give (as for nnspec run)",
    )
    for_run = graph.add_argument_group("data for --run")
    _add_data_options(for_run)
    _add_cluster_options(for_run)
    _add_view_options(graph, "draw")
    _add_network_option(graph, "draw")
    graph.add_argument(
        "--collapse-units",
        action="store_true",
        help="draw each unit as one box (its network's name on it) rather than its layers inside a box",
    )
    graph.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    _add_allow_path(graph)
    _add_check_options(graph, strict=None)
    graph.set_defaults(handler=_graph)

    upgrade = commands.add_parser(
        "upgrade",
        help="bring a spec up to this nnspec's format version, 2 (version 1 still loads, with its own meaning)",
        description="Upgrade a spec to the format version this nnspec writes (the nnspec: key), 2, and print it "
        "on stdout, or write it to -o PATH; what each step changed goes to stderr. Version 2 gave a target with "
        "a generator a data variable of its own: a version-1 generated target sharing its variable (y) with an "
        "Input, another target or the spec's data: is written as version 1 read it (T: {dataset: y}). Where "
        "only the version number changes, only it is rewritten, comments kept; otherwise the text is written "
        "by nnspec: comments are lost, except those at the top of the file. A spec already at this version "
        "comes back unchanged. The result is validated; exit 1 if it is still invalid.",
    )
    upgrade.add_argument("file", metavar="FILE", help=SPEC_FILE_HELP)
    upgrade.add_argument("-o", "--output", metavar="PATH", help="write the upgraded spec to PATH instead of stdout")
    upgrade.add_argument("--force", action="store_true", help="overwrite PATH if it exists (it may be FILE itself)")
    _add_allow_path(upgrade)
    upgrade.set_defaults(handler=_upgrade)

    convert = commands.add_parser(
        "convert",
        help="write a spec in another format (the suffixes pick the formats)",
        description="Read a spec file in the format its suffix names and write it to -o PATH in the format "
        f"PATH's suffix names ({', '.join(writable_suffixes())}). The spec must be valid (its data files are "
        "not read); what is written is the spec as written, not resolved (validate --print-resolved shows that): "
        "comments are lost, and relative paths are written as they are, so they are read from PATH's folder "
        "(convert beside FILE to keep them working). A PATH with no suffix is written as YAML. "
        "An .sdcproj is written with the spec's project: section, comments and editor positions; what NNC's "
        "project cannot hold (data:, checks:, seed, outputs, ...) is listed as a warning. "
        "nnabla's .nntxt and .nnp are written from the spec as it runs, one view of it (--view): units and "
        "repeats written out, each copy with parameters of its own; what nnabla's file cannot hold (data:, "
        "checks:, declared ranges, layers the view bypasses) is listed as a warning. An .nnp holds the "
        "parameters too: from --params (an .nnp or .onnx FILE: its own), else drawn from the spec's "
        "initializers with its seed, as run draws them. See docs/nnc.md. An .onnx (ONNX opset 17) is written the "
        "same way, one view "
        "with its parameters as initializers (needs the onnx extra: pip install onnx onnxruntime); layers ONNX cannot "
        "hold are named, all at once. See docs/onnx.md.",
    )
    convert.add_argument("file", metavar="FILE", help=SPEC_FILE_HELP)
    convert.add_argument(
        "-o", "--output", metavar="PATH", required=True, help="the file to write; its suffix picks the format"
    )
    convert.add_argument("--force", action="store_true", help="overwrite PATH if it exists (it may be FILE itself)")
    convert.add_argument(
        "--no-positions",
        action="store_true",
        help="leave out NNC's editor positions (kept by default); an .sdcproj written then lays its layers out "
        "in one column",
    )
    convert.add_argument(
        "--params",
        metavar="PATH",
        help="the parameters an .nnp or .onnx holds, by nnabla name (a .npz, nnabla's .h5, or an .nnp), as run "
        "--params reads them (default: an .nnp or .onnx FILE's own, else drawn from the spec's initializers "
        "with its seed)",
    )
    convert.add_argument(
        "--parameter-format",
        choices=PARAMETER_FORMATS,
        help="how an .nnp holds its parameters: parameter.h5 (nnabla 1.39's default; needs h5py) or "
        "parameter.protobuf (default: h5 where h5py is installed, else protobuf)",
    )
    _add_view_options(convert, "write to .nntxt, .nnp or .onnx")
    _add_allow_path(convert)
    convert.set_defaults(handler=_convert)

    layers = commands.add_parser(
        "layers", help="the layer reference", description="List the layer types, or show one layer's reference entry."
    )
    layers.add_argument("type", nargs="?", metavar="TYPE", help="a layer type, e.g. Tanh")
    layers.add_argument("--format", choices=reference_formats("layers"), default=DEFAULT_FORMAT)
    layers.set_defaults(handler=_layers)

    checks = commands.add_parser(
        "checks",
        help="the range checks: ids, defaults, what they look at and why",
        description="List the range checks.",
    )
    checks.add_argument("--format", choices=reference_formats("checks"), default=DEFAULT_FORMAT)
    checks.set_defaults(handler=_checks)

    codes_command = commands.add_parser(
        "codes",
        help="the diagnostic codes: what each [CODE] at the end of a problem means",
        description="List the diagnostic codes.",
    )
    codes_command.add_argument("--format", choices=("text", "markdown"), default="text")
    codes_command.set_defaults(handler=_codes)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of spec files (or of the JSON nnspec prints)",
        description="Print a JSON Schema: of spec files (default), of `nnspec run --format json` (report) "
        "or of `nnspec validate --format json` (validate).",
    )
    schema.add_argument("which", nargs="?", choices=("spec", "report", "validate"), default="spec")
    schema.set_defaults(handler=_schema)
    return parser


def _add_format_option(parser: argparse.ArgumentParser, command: str) -> None:
    """--format, its choices and help read from the table of output formats (nnspec.report.renderers)."""
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=format_names(),
        default=DEFAULT_FORMAT,
        help=format_help(command),
    )


def _output_format(args: argparse.Namespace) -> OutputFormat:
    """The output format the command was given (commands without one report as text)."""
    return output_format(getattr(args, "output_format", DEFAULT_FORMAT))


def _add_check_options(parser: argparse.ArgumentParser, strict: str | None) -> None:
    """--check, and --strict (explained by ``strict``) where the command has an exit code to make strict."""
    parser.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ID=SETTING",
        help="set a range check: off, info, warning, error, or a threshold (repeatable; see docs/checks.md)",
    )
    if strict is not None:
        parser.add_argument("--strict", action="store_true", help=strict)


def _add_allow_path(parser: argparse.ArgumentParser) -> None:
    """--allow-path: where else the files a spec names, and a dataset's cells, may be."""
    parser.add_argument(
        "--allow-path",
        action="append",
        default=[],
        metavar="DIR",
        help="let the files a spec names (dataset:, a parameter's file:) and a dataset's cells be read under DIR "
        "too (repeatable); by default they must lie, symlinks resolved, in the spec's repository (the nearest "
        "directory above it holding .git), and a dataset's cells in that or the dataset's own directory",
    )


def _add_data_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Where a run takes its data and parameters from, and how it steps through them."""
    parser.add_argument(
        "--engine",
        choices=("numpy", "onnxruntime"),  # nnspec.runtime.runner.ENGINES, not imported at start-up
        default="numpy",
        help="what computes the batches: numpy (default) or onnxruntime, which runs the spec's ONNX model "
        "(as convert writes it; onnx extra: pip install onnx onnxruntime); layers ONNX cannot hold run on numpy, "
        "named in the report. The statistics and findings come out the same. See docs/onnx.md.",
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="data for the data variable NAME from a .npy, .npz or .csv file (repeatable); a .npz alone "
        "(--input data.npz) gives every variable it holds an array for",
    )
    parser.add_argument(
        "--dataset",
        metavar="PATH",
        help="data from an NNC dataset CSV (index.csv: a header row, one sample per row; columns bind to "
        "data variables by name; --input overrides a column), in place of the dataset the spec names (its "
        "dataset:, else its project's executor's), whose image normalisation still applies",
    )
    parser.add_argument(
        "--dataset-root",
        metavar="DIR",
        help="where an NNC project's datasets are: {SDCPATH} in a dataset's URI (NNC's install folder) and a "
        "relative URI are taken against DIR (default for a relative URI: the project's folder); files under DIR "
        "may be read, as under --allow-path",
    )
    parser.add_argument(
        "--image-normalization",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="divide the dataset's 8-bit images by 255 and 16-bit ones by 65535 as they are read, or with "
        "--no-image-normalization feed them as they are (0..255), as NNC's ImageNormalization=0 does (default: "
        "as the dataset says: the spec's dataset: {uri: ..., image_normalization: false}, or its project's)",
    )
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="draw every data variable that has no other source from its declared size: uniform in -1..1 (NNC's "
        "rule; 0..255 where the dataset is not normalised), class indices in range for a classification loss's "
        "target, 0 or 1 for a binary one; reproducible from the spec's seed",
    )
    parser.add_argument(
        "--params",
        metavar="PATH",
        help="parameters by nnabla name (fc1/affine/W): a .npz file, nnabla's .h5, an .nnp's or an .onnx model's "
        "(default: an .nnp or .onnx FILE's own)",
    )
    parser.add_argument("--batch-size", type=_positive_int, metavar="N", help="run N samples at a time (default: all)")
    parser.add_argument(
        "--samples",
        type=_positive_int,
        metavar="N",
        help="samples to generate when no variable is read from data (generators, --synthetic; default: 100)",
    )
    parser.add_argument(
        "--max-memory",
        type=_size,
        metavar="SIZE",
        help="stop before running when the run would need more memory than SIZE, e.g. 2G, from 0 to 1024T "
        "(default: half of RAM)",
    )


def _add_cluster_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--scheduler and --workers: the run's batches on a Dask cluster (docs/scale.md)."""
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the batches on the workers of the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://HOST:8786); they read the data themselves from the same paths (dask extra: pip install dask "
        "distributed). Without --batch-size, batches of ceil(samples/64), at most 1024. The results are those "
        "of the same run in one process. See docs/scale.md",
    )
    cluster.add_argument(
        "--workers",
        type=_positive_int,
        nargs="?",
        const=ALL_CORES,
        metavar="N",
        help="run the batches on a Dask cluster of N worker processes started on this machine for the run, as "
        "--scheduler does on a running cluster (dask extra); without N, one a core this process may use",
    )


def _add_network_option(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument(
        "--network",
        metavar="NAME",
        help=f"{verb} the spec's network NAME (one of its networks:) rather than its main one (layers:)",
    )


def _add_view_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--view, and --training, its older spelling for the training view (nnspec.spec.views)."""
    from .spec.views import DESCRIPTIONS, VIEWS

    views = "; ".join(f"{view}: {DESCRIPTIONS[view]}" for view in VIEWS)
    parser.add_argument(
        "--view",
        choices=VIEWS,
        help=f"the view of the network to {verb} (default: the spec's view:, else validation). {views}",
    )
    parser.add_argument(
        "--training",
        action="store_true",
        help="--view training: BatchNormalization's batch_stat and MeanSubtraction's update_running_mean as the "
        "spec sets them, Dropout applied (drawn from the layer's or the spec's seed); batch statistics then "
        "depend on --batch-size",
    )


def _out_of_memory(args: argparse.Namespace) -> str:
    """What to do when memory ran out: only options the command took (graph takes the run's with --run)."""
    if args.command == "run" or getattr(args, "run", False):
        return "not enough memory for this run: try --batch-size or --max-memory"
    if args.command == "graph":
        return "not enough memory to draw this graph: write it as DOT (-o FILE.dot)"
    return "not enough memory"


def _size(text: str) -> int:
    from .files.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


# --- commands ----------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from .checks.settings import parse_cli
    from .validation import checked

    renderer = _output_format(args)
    if args.print_resolved and renderer.validate_on_stdout:
        raise UsageError(
            f"--print-resolved prints YAML on stdout, which --format {renderer.name} uses: use one or the other"
        )
    if args.summary and renderer.validate_on_stdout:
        raise UsageError(
            f"--summary prints a table on stdout, which --format {renderer.name} uses: use one or the other"
        )
    sizing = [option for option, value in (("--batch-size", args.batch_size), ("--samples", args.samples)) if value]
    if sizing and not args.summary:
        verb = "size" if len(sizing) > 1 else "sizes"
        raise UsageError(f"{' and '.join(sizing)} {verb} the run --summary shows: add --summary (or leave them out)")
    checks = dict(parse_cli(item) for item in args.check)
    results = []
    code = EXIT_OK
    for file in args.files:
        try:
            spec, diagnostics = checked(
                file,
                checks,
                allow_paths=args.allow_path,
                read_data=not args.no_data,
                view=args.view,
                training=args.training,
                network=args.network,
            )
            failing = [d for d in diagnostics if d.severity == ERROR or (args.strict and d.severity == WARNING)]
            if failing:
                code = max(code, EXIT_INVALID)
        except UsageError as exc:
            spec, diagnostics, code = None, [Diagnostic(str(exc), file, code=codes.UNREADABLE)], EXIT_USAGE
        except Exception as exc:  # a bug in nnspec: report it and go on with the other files
            if args.debug:
                raise
            message = f"internal error: {type(exc).__name__}: {exc} (a bug in nnspec; --debug shows the traceback)"
            spec, diagnostics, code = None, [Diagnostic(message, file, code=codes.INTERNAL_ERROR)], EXIT_USAGE
        results.append(FileResult(file, diagnostics))
        if args.print_resolved and spec is not None:
            from .spec.resolved import resolved_text

            sys.stdout.write(resolved_text(spec))
            sys.stdout.flush()
        if args.summary and spec is not None:
            sys.stdout.write(_planned_summary(spec, args))
            sys.stdout.flush()
    renderer.validate(results, Streams())
    return code


def _planned_summary(spec, args: argparse.Namespace) -> str:
    """validate --summary: the model summary of the view --view names, sized for the run nnspec run
    would make on the spec's own data with --batch-size and --samples (the text report's: it keeps the
    outputs it shows)."""
    from .report.results import MAX_VALUES_SHOWN
    from .report.summary import summary_text
    from .runtime.runner import planned_memory
    from .spec.views import as_view

    spec = as_view(spec, args.view, training=args.training)

    if spec.dataset is not None and args.no_data:
        return summary_text(spec, unsized="the run's sample count is in its dataset, which --no-data leaves unread")
    try:
        sized = planned_memory(spec, batch_size=args.batch_size, samples=args.samples, keep_outputs=MAX_VALUES_SHOWN)
    except UsageError as exc:  # a dataset that cannot be read: the summary still shows the costs
        return summary_text(spec, unsized=str(exc))
    return summary_text(spec, sized)


def _run(args: argparse.Namespace) -> int:
    from .files.save import check_output_path, check_params_path, check_target, refuse_collisions
    from .report.results import MAX_VALUES_SHOWN
    from .runtime.runner import RunInterrupted
    from .spec.views import as_view
    from .validation import load

    output = Path(args.output) if args.output else None
    saved_params = Path(args.save_params) if args.save_params else None
    report = Path(args.report) if args.report else None
    plots = Path(args.plots) if args.plots else None
    executor = _executor(args)  # the dask extra missing is said before anything is read
    # Every file the run writes is checked before it, not after: a bad path costs no run.
    if output is not None:
        check_target(output, args.force)  # its suffix once the spec says how many outputs there are
    if saved_params is not None:
        check_params_path(saved_params, args.force)
    if report is not None or plots is not None:
        from .report.pictures.extra import require_matplotlib

        wanted = [option for option, value in (("--plots", plots), ("--report", report)) if value]
        require_matplotlib(" and ".join(wanted))
    if report is not None:
        from .report.pictures.html import check_report_path

        check_report_path(report, args.force)
    spec = as_view(
        load(args.file, allow_paths=args.allow_path, network=args.network), args.view, training=args.training
    )
    files = _input_files(args.input, spec)
    if output is not None:
        check_output_path(output, spec.outputs, args.force)
    targets = [("--output", output), ("--save-params", saved_params), ("--report", report)]
    if plots is not None:
        from .report.pictures.plots import check_plot_directory, plot_paths

        check_plot_directory(plots, spec, args.force)
        targets += [("--plots", path) for path in plot_paths(plots, spec)]
    refuse_collisions([(option, path) for option, path in targets if path is not None], _run_sources(args, spec, files))
    # Without --output, only the outputs the reports show are kept: memory stays bounded by the batch.
    renderer = _output_format(args)
    if args.summary and renderer.name != "text":
        raise UsageError(
            f"--summary adds a table to the text report, not --format {renderer.name}'s"
            + (
                " (the JSON report has each layer's cost, the totals and the memory already)"
                if renderer.name == "json"
                else ""
            )
        )
    if output is not None:
        keep = None
    else:  # the HTML report shows small outputs, whatever the format
        keep = max(renderer.values_kept(args.quiet), MAX_VALUES_SHOWN if report is not None else 0)
    try:
        result = _execute(args, spec, files, keep, quiet=args.quiet, executor=executor)
    except RunInterrupted as stopped:
        result = stopped.result
    try:
        _write_results(result, output, saved_params, plots, report)
        unwritten = None
    except UsageError as exc:  # the disk filled, the folder went: the report still shows what the run found
        unwritten = exc
    renderer.run(result, not args.quiet, Streams())
    if args.summary:
        from .report.summary import summary_text

        sys.stdout.write("\n" + summary_text(result.spec, result.memory))
        sys.stdout.flush()
    if result.interrupted:
        skipped = " and ".join(f"{p}" for p in (output, saved_params) if p is not None)
        covered = (
            f"in the last batch: the statistics and findings cover all {result.samples:,} samples"
            if result.samples == result.total
            else f"after {result.samples:,} of {result.total:,} samples: the statistics and findings cover those "
            "samples only"
        )
        print(
            f"nnspec: interrupted {covered}{f'; {skipped} not written' if skipped else ''}",
            file=sys.stderr,
        )
    if unwritten is not None:
        print(f"nnspec: error: {unwritten}", file=sys.stderr)
        return EXIT_USAGE
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.errors or (args.strict and result.warning_count):
        return EXIT_INVALID
    return EXIT_OK


def _run_sources(args: argparse.Namespace, spec, files: dict[str, str]) -> list[tuple[str, Path]]:
    """The files a run reads, each with what it is to the run: no output may be written over one."""
    sources = [("the spec", Path(args.file))]
    sources += [(f"the data of {name} (--input)", Path(path)) for name, path in files.items()]
    dataset = args.dataset or spec.dataset
    if dataset is None and spec.project:
        from .runtime.project import project_dataset

        chosen = project_dataset(spec, args.dataset_root)
        dataset = chosen.path if chosen is not None else None
    if dataset is not None:
        sources.append(("the dataset", Path(dataset)))
    if args.params:
        sources.append(("the parameters (--params)", Path(args.params)))
    for layer in spec.layers.values():
        sources += [
            (f"the parameter file of {layer.parameter_key(name)}", source.file)
            for name, source in layer.parameters.items()
            if source.file is not None
        ]
    return sources


def _write_results(result, output: Path | None, saved_params: Path | None, plots: Path | None, report: Path | None):
    """--output and --save-params (a run that ran to its end only), then --plots and --report (after an
    interrupted run too: they show the samples run, as the report does)."""
    from .files.save import save_outputs, write_atomically, write_npz

    if not result.interrupted:
        if output is not None:
            save_outputs(output, result.outputs)
        if saved_params is not None:
            used = result.parameters
            write_atomically(saved_params, lambda handle: write_npz(handle, used))
    if plots is not None or report is not None:
        _write_pictures(result, plots, report)


def _executor(args: argparse.Namespace):
    """The executor --scheduler or --workers asks for (None: the run in this process)."""
    if args.scheduler is None and args.workers is None:
        return None
    from .runtime.distributed import Dask

    workers = usable_cores() if args.workers == ALL_CORES else args.workers
    return Dask(scheduler=args.scheduler, workers=workers)


ALL_CORES = 0  # --workers given without N: a worker a core (usable_cores)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity call
        return os.cpu_count() or 1


def _execute(args: argparse.Namespace, spec, files: dict[str, str], keep: int | None, quiet: bool, executor=None):
    """Run ``spec`` (the view to run: nnspec.spec.views.as_view) as the data options of ``args`` say, with a
    progress bar unless ``quiet``, in this process or on ``executor`` (a Dask cluster).

    Raises RunInterrupted (a KeyboardInterrupt holding the samples run) on Ctrl-C.
    """
    from .checks.settings import parse_cli
    from .runtime.progress import Progress
    from .runtime.runner import RangeWarning, run

    progress = Progress(unguarded(sys.stderr), use_tqdm=True) if not quiet else None  # its \r are its own
    with warnings.catch_warnings():  # the report shows the findings; no need for Python's warnings too
        warnings.simplefilter("ignore", RangeWarning)
        try:
            return run(
                spec,
                input_files=files,
                dataset=args.dataset,
                dataset_root=args.dataset_root,
                synthetic=args.synthetic,
                image_normalization=args.image_normalization,
                params=args.params,
                batch_size=args.batch_size,
                samples=args.samples,
                max_memory=args.max_memory,
                checks=dict(parse_cli(item) for item in args.check),
                keep_outputs=keep,
                progress=progress,
                engine=args.engine,
                executor=executor,
            )
        finally:
            if progress is not None:
                progress.close()


def _write_pictures(result, plots: Path | None, report: Path | None) -> None:
    """--plots DIR and --report PATH: every layer's plot is drawn once, for both."""
    from .report.pictures.plots import layer_plot, plotted_layers, write_plots

    pngs = {name: layer_plot(result, name) for name in plotted_layers(result)}
    if plots is not None:
        write_plots(plots, result.spec, pngs)
    if report is not None:
        from .files.save import write_atomically
        from .report.pictures.html import build_report

        page = build_report(result, pngs)
        write_atomically(report, lambda handle: handle.write(page.encode("utf-8")))


def _graph(args: argparse.Namespace) -> int:
    from .checks.settings import parse_cli
    from .files.save import write_atomically
    from .report.pictures.diagram import check_drawable, check_graph_path, render, title
    from .spec.views import as_view
    from .validation import load

    output = Path(args.output) if args.output else None
    form = check_graph_path(output, args.force) if output is not None else "dot"
    unused = [option for option, value in _data_options(args).items() if value]
    if unused and not args.run:
        raise UsageError(f"{', '.join(unused)} give data for a run: add --run (or leave them out)")
    executor = _executor(args)  # the dask extra missing is said before anything is read
    spec = as_view(
        load(args.file, allow_paths=args.allow_path, network=args.network), args.view, training=args.training
    )
    if form != "dot":  # before a run, not after it; a graph too large to draw is refused without matplotlib's import
        from .report.pictures.extra import require_matplotlib

        check_drawable(spec)
        require_matplotlib(f"writing {output}")
    files = _input_files(args.input, spec) if args.run else {}
    if output is not None:
        from .files.save import refuse_collisions

        refuse_collisions(
            [("-o", output)], _run_sources(args, spec, files) if args.run else [("the spec", Path(args.file))]
        )
    if args.run:
        result = _execute(args, spec, files, keep=0, quiet=False, executor=executor)
        findings, heading = result.findings, title(spec, result.samples)
    else:
        from .checks.settings import resolve
        from .spec.static import predict

        findings = predict(spec, resolve(spec, dict(parse_cli(item) for item in args.check)))
        heading = title(spec, None)
    picture = render(spec, findings, heading, form, collapse_units=args.collapse_units)
    if output is None:
        sys.stdout.write(picture.decode("utf-8"))
        sys.stdout.flush()
    else:
        write_atomically(output, lambda handle: handle.write(picture))
    return EXIT_OK


def _data_options(args: argparse.Namespace) -> dict[str, object]:
    """The data options of a run as given on the command line, by their spelling."""
    return {
        "--input": args.input,
        "--dataset": args.dataset,
        "--dataset-root": args.dataset_root,
        "--image-normalization": args.image_normalization is not None,
        "--synthetic": args.synthetic,
        "--params": args.params,
        "--batch-size": args.batch_size,
        "--samples": args.samples,
        "--max-memory": args.max_memory,
        "--scheduler": args.scheduler,
        "--workers": args.workers,
    }


def _upgrade(args: argparse.Namespace) -> int:
    from .files.confine import Confinement
    from .files.save import check_target, write_atomically
    from .spec.loader import decode, read_bytes
    from .spec.readers import DEFAULT, format_of, writer_for
    from .spec.upgrade import upgrade, upgrade_text_with_notes
    from .validation import validate_document

    output = Path(args.output) if args.output else None
    source = format_of(args.file)
    if output is None and source.write is None:
        raise UsageError(
            f"{args.file}: nnspec reads {source.name} files but does not write them: give -o FILE.yaml "
            "to write the upgraded spec as YAML"
        )
    target = writer_for(output) if output is not None else source  # on stdout, in the file's own format
    if output is not None and target.write is None:  # nnabla's files and ONNX hold a network as it runs
        raise UsageError(
            f"{output}: upgrade writes the spec as it is written, which {target.name} files do not hold: "
            f"nnspec convert writes them"
        )
    if output is not None:
        check_target(output, args.force)  # -o FILE --force may write over FILE itself: it was read whole first
    raw = read_bytes(args.file, source.size) if source.read_file is None else b""  # an archive is read from its file
    # SpecError (exit 1) for a version it cannot read
    if source is DEFAULT and target is DEFAULT:  # YAML to YAML: as text, its top comments kept, unchanged if current
        text = decode(raw, args.file)
        # on stdout, text that would be escaped is quoted
        upgraded, notes = upgrade_text_with_notes(text, args.file, printed=output is None)
        unchanged = upgraded == text
    else:
        if source.read_file is not None:
            doc = source.read_file(args.file)
        else:
            doc = source.read(raw, args.file)
        data, notes = upgrade(doc.data, args.file, doc.source_map)
        assert target.write is not None, "writer_for gives formats with a writer"
        upgraded, unchanged = target.write(data), False
    for note in notes:
        print(f"{printable(args.file)}: {printable(note)}", file=sys.stderr)
    if output is None:
        sys.stdout.write(upgraded)
        sys.stdout.flush()
    elif not unchanged or output.resolve() != Path(args.file).resolve():
        write_atomically(output, lambda handle: handle.write(upgraded.encode("utf-8")))
    try:  # against the original file name: relative paths in the spec resolve as they did
        confinement = Confinement.for_spec(args.file, args.allow_path)
        validate_document(target.read(upgraded.encode("utf-8"), args.file), confinement)
    except SpecError as exc:
        print(f"{printable(args.file)}: the upgraded spec is not valid yet:", file=sys.stderr)
        _print_diagnostics(exc.diagnostics)
        return EXIT_INVALID
    return EXIT_OK


def _convert(args: argparse.Namespace) -> int:
    from .files.confine import Confinement
    from .files.save import check_target, write_atomically
    from .spec.readers import prepared, read_spec, reads_back, without_positions, writer_for
    from .validation import validate_document

    output = Path(args.output)
    target = writer_for(output)  # a format nnspec cannot write is refused before anything is read
    check_target(output, args.force)
    if args.parameter_format and not target.archive:
        raise UsageError(f"{output}: --parameter-format is for an .nnp, which holds parameters in nnabla's files")
    if args.params and not (target.archive or target.write_model):
        raise UsageError(f"{output}: --params is for an .nnp or .onnx, which hold parameters")
    if not (target.write_network or target.write_model) and (args.view or args.training):
        raise UsageError(f"{output}: --view is for .nntxt, .nnp and .onnx, written as one view of the network")
    doc = read_spec(args.file)
    # An invalid spec is refused (SpecError, exit 1, its diagnostics located in FILE): converting would
    # carry its errors into a file whose lines no longer match them. Its data files are not read.
    spec = validate_document(doc, Confinement.for_spec(args.file, args.allow_path), read_data=False)
    if target.write_network is not None:
        return _convert_to_nnabla(args, spec, target, output)
    if target.write_model is not None:
        return _convert_to_model(args, spec, target, output)
    assert target.write is not None, "writer_for gives formats with a writer"
    data = without_positions(doc.data) if args.no_positions else doc.data
    # what the target cannot hold is said, located, never dropped silently (exit 0: the rest is written)
    data, lost = prepared(target, data)
    _print_diagnostics(
        [
            Diagnostic(
                f"{what} cannot be written in {target.name} format ({output.suffix}): left out",
                doc.file,
                *doc.source_map.locate(path, at_key=True),
                WARNING,
                codes.NNC_EXPORT,
            )
            for path, what in lost
        ]
    )
    text = target.write(data)
    # The writer's promise, checked before the file is written: its text reads back to the same data.
    if not reads_back(target, text, data):
        raise AssertionError(f"the {target.name} writer does not read back to the spec it was given")
    write_atomically(output, lambda handle: handle.write(text.encode("utf-8")))
    return EXIT_OK


def _convert_to_nnabla(args: argparse.Namespace, spec: Spec, target: SpecFormat, output: Path) -> int:
    """convert to .nntxt or .nnp: the view asked for written as nnabla runs it, what the file cannot
    hold warned of, an .nnp's parameters from --params or the spec's initializers."""
    from .files.nnpfile import h5_available, write_nnp
    from .files.save import write_atomically
    from .runtime.params import H5_EXTRA, by_nnabla_name
    from .spec.nntxt import read
    from .spec.views import as_view

    parameter_format = args.parameter_format or ("h5" if h5_available() else "protobuf")
    if target.archive and parameter_format == "h5" and not h5_available():
        raise UsageError(f"{output}: writing parameter.h5 needs h5py: {H5_EXTRA} (or --parameter-format protobuf)")
    view = as_view(spec, args.view, training=args.training)
    assert target.write_network is not None, "called for nnabla's formats only"
    written = target.write_network(view)
    read(written.text.encode("utf-8"), str(output))  # the writer's promise: nnspec reads what it writes
    for item in written.dropped:
        print(f"{printable(str(output))}: warning: not in nnabla's file: {item}", file=sys.stderr)
    if not target.archive:
        write_atomically(output, lambda handle: handle.write(written.text.encode("utf-8")))
        return EXIT_OK
    values = _parameters_to_write(args, view, output)
    named = by_nnabla_name(view, values)
    parameters = {key: named[key] for key in written.parameters}
    if not args.parameter_format and parameter_format == "protobuf":
        print(
            f"{printable(str(output))}: note: h5py is not installed: parameters written as parameter.protobuf",
            file=sys.stderr,
        )
    write_atomically(output, lambda handle: write_nnp(handle, written.text, parameters, parameter_format))
    return EXIT_OK


def _parameters_to_write(args: argparse.Namespace, view: Spec, output: Path) -> dict[str, dict[str, Any]]:
    """The parameters a file converted to holds, by layer: from --params (an .nnp or .onnx FILE: its own), else
    drawn from the spec's initializers with its seed, as run draws them (a note says so)."""
    from .runtime.params import holds_its_parameters, load_parameter_file, resolve_parameters

    given = args.params or (args.file if holds_its_parameters(args.file) else None)  # as run takes them
    if given:
        loaded = load_parameter_file(given)
        values, problems = resolve_parameters(view, loaded, f"the parameters of {given}")
        _print_diagnostics(problems)
        return values
    values, _ = resolve_parameters(view)
    print(
        f"{printable(str(output))}: note: parameters drawn from the spec's initializers (seed {view.seed}), "
        "as run draws them: give --params for trained values",
        file=sys.stderr,
    )
    return values


def _convert_to_model(args: argparse.Namespace, spec: Spec, target: SpecFormat, output: Path) -> int:
    """convert to .onnx: the view asked for written with its parameters as one model file."""
    from .files.save import write_atomically
    from .spec.views import as_view

    view = as_view(spec, args.view, training=args.training)
    assert target.write_model is not None, "called for model formats only"
    from .spec.onnx_writer import onnx_module, refuse_unwritable

    # before parameters are drawn: a spec ONNX cannot hold, or a missing extra, costs nothing more
    refuse_unwritable(view)
    onnx_module()
    written = target.write_model(view, _parameters_to_write(args, view, output))
    if view.dtype != "float32":
        print(f"{printable(str(output))}: note: written as float32, not the spec's {view.dtype}", file=sys.stderr)
    write_atomically(output, lambda handle: handle.write(written))
    return EXIT_OK


def _layers(args: argparse.Namespace) -> int:
    from .core.suggest import did_you_mean
    from .layers.catalog import layer_types

    form = REFERENCE_FORMATS[args.format]
    if args.type is None:
        sys.stdout.write(form.layers())
        return EXIT_OK
    from .layers.unsupported import nnc_category, not_supported_message

    types = layer_types()
    name = args.type
    if name not in types:
        # case-insensitive when it names one type only: `nnspec layers tanh` shows Tanh
        folded = [known for known in types if known.lower() == name.lower()]
        if len(folded) == 1:
            name = folded[0]
        elif nnc_category(name) is not None:
            raise UsageError(not_supported_message(name))
        else:
            raise UsageError(f"unknown layer type '{name}'{did_you_mean(name, types)}")
    sys.stdout.write(form.layer(name))
    return EXIT_OK


def _checks(args: argparse.Namespace) -> int:
    render = REFERENCE_FORMATS[args.format].checks
    assert render is not None  # argparse offers only the formats that render the checks
    sys.stdout.write(render())
    return EXIT_OK


def _codes(args: argparse.Namespace) -> int:
    from .report.reference import codes_markdown, codes_text

    sys.stdout.write(codes_markdown() if args.format == "markdown" else codes_text())
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from .report.report_schema import report_schema, validate_schema
    from .spec.schema import schema_text, spec_schema

    schemas: dict[str, Callable[[], dict[str, Any]]] = {
        "spec": spec_schema,
        "report": report_schema,
        "validate": validate_schema,
    }
    build = schemas[args.which]
    sys.stdout.write(schema_text(build()))
    return EXIT_OK


# --- helpers -----------------------------------------------------------------------------


def _input_files(items: Sequence[str], spec) -> dict[str, str]:
    """--input NAME=PATH for one variable; --input PATH.npz for every variable the archive holds."""
    from .runtime.inputs import npz_members

    files: dict[str, str] = {}
    variables = {reader.variable for reader in spec.readers}
    for item in items:
        name, sep, path = item.partition("=")
        if sep and name and path:
            files[name] = path
        elif not sep and item.lower().endswith(".npz"):
            members = npz_members(item)
            found = sorted(variables & set(members))
            if not found:
                raise UsageError(
                    f"{item}: holds {', '.join(members) or 'no arrays'}, none named as a data variable of the spec "
                    f"({', '.join(sorted(variables))})"
                )
            files.update({variable: item for variable in found})
        else:
            raise UsageError(f"--input takes NAME=PATH (a data variable and a file), or a .npz alone; got {item!r}")
    return files


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
