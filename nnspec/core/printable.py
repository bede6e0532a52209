"""Text from specs and files made safe to print: one function for every human-readable output.

Specs and data files may come from strangers (a pull request validated in CI), and their text
(names, types, keys, check ids, file names, CSV headers and cells) ends up in terminals and
CI logs. Printed raw, that text could rewrite the terminal (ESC sequences), hide what precedes
it (CR), reorder what a reviewer reads (bidi overrides, "Trojan Source"), or speak to GitHub's
runner, which reads workflow commands from a job's log: ``::NAME ...::`` at the start of a
line (after leading whitespace) and ``##[NAME]`` anywhere in a line, lines being split at CR
and LF alike. ``printable(text)`` is what such text becomes before nnspec prints it:

- a control character (C0, DEL, C1), an invisible format character (bidi embeddings,
  overrides and isolates, zero-width characters, the BOM...), a line or paragraph separator,
  a lone surrogate (a file name's undecodable byte) or an unassigned code point is written as
  its escape, as Python writes it: ``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u202e``, ``\\U000e0041``;
- ``::`` becomes ``\\x3a:`` and ``##[`` becomes ``\\x23#[``: the first character of the pair
  written as its escape, so text from a spec never holds either, and cannot start a workflow
  command wherever it lands in a line or however a line is wrapped.

Backslashes are not doubled, so Windows paths read as typed; a ``\\x1b`` in the output is
therefore an ESC, or the four characters a spec wrote.

``guarded_output()`` is the boundary nothing passes by: for as long as it is active (the
whole of ``nnspec.cli.main``), sys.stdout and sys.stderr escape the same characters in
everything written to them, keep only the line breaks, and defang ``##[`` anywhere and ``::``
at the start of a line. Renderers still call ``printable`` on the text they take from a spec
(so a name's line break cannot forge a line of its own); the guard catches what a renderer
missed. nnspec's own workflow commands (``--format github``) and the progress bar's carriage
returns are written to the stream beneath, ``unguarded(stream)``, by the two functions that
build them from escaped parts.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# Categories escaped: controls, format characters (bidi controls, zero-width characters),
# surrogates, unassigned code points, line and paragraph separators. Private-use characters
# and spaces other than ' ' (U+00A0, U+3000) are visible enough and stay.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COLONS = re.compile(r":(?=:)")  # each colon followed by another: ':::' -> '\x3a\x3a:'
_MARKER = re.compile(r"#(?=#\[)")  # the first '#' of '##[': '###[' -> '#\x23#['
_LEADING_COLONS = re.compile(r"^(\s*):(?=:)")


def printable(text: str) -> str:
    """``text`` with every character that could act rather than show escaped, and ``::``
    and ``##[`` broken up (see the module's docstring): safe on one line of any output."""
    if text.isprintable() and "::" not in text and "##[" not in text:
        return text  # the common case, checked in C
    return break_commands(_escape_characters(text))


def quoted_name(name: str) -> str:
    """A name as messages quote it: 'fc1', or "y'" for one holding NNC's prime (not 'y'')."""
    return f'"{name}"' if "'" in name else f"'{name}'"


def break_commands(text: str) -> str:
    """``text`` (in which every backslash starts an escape) with ``::`` and ``##[`` broken up:
    the first ':' of each '::' written ``\\x3a``, the first '#' of each '##[' written ``\\x23``."""
    return _COLONS.sub(r"\\x3a", _MARKER.sub(r"\\x23", text))


def printable_lines(text: str) -> str:
    """``printable`` for text of several lines: each line escaped, the line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def is_clean(text: str) -> bool:
    """Whether ``printable_lines`` leaves ``text`` as it is: it may be printed raw."""
    return all(printable(line) == line for line in text.split("\n"))


def _escape_characters(text: str) -> str:
    return "".join(escape_character(ch) for ch in text)


def escape_character(ch: str) -> str:
    """The character as it is, or its escape if it is one ``printable`` escapes."""
    if ch.isprintable() or unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def log_safe_line(line: str) -> str:
    """One line (no line break) as the output guard writes it: characters escaped as by
    ``printable``, ``##[`` broken up, and ``::`` broken up where it starts the line."""
    if line.isprintable() and "##[" not in line and not line.lstrip().startswith("::"):
        return line
    escaped = _MARKER.sub(r"\\x23", _escape_characters(line))
    return _LEADING_COLONS.sub(r"\1\\x3a", escaped)


def log_safe(text: str) -> str:
    """Text of several lines as the output guard writes it: ``log_safe_line`` on each line."""
    return "\n".join(log_safe_line(line) for line in text.split("\n"))


def json_text(data: Any, **options: Any) -> str:
    """``json.dumps`` for output a log may show: ASCII only (a control or bidi character is
    JSON's ``\\u`` escape, as json writes it), ``##[`` written ``##\\u005b`` and ``::`` written
    ``\\u003a:``, as ``printable`` breaks them up. The text is the same JSON, and reads back to
    the same data: both can only occur inside JSON strings, where a backslash always starts a
    whole escape."""
    text = json.dumps(data, ensure_ascii=True, **options)
    return _COLONS.sub(r"\\u003a", text.replace("##[", "##\\u005b"))


# --- the guard on sys.stdout and sys.stderr ---------------------------------------------------


class GuardedStream:
    """A text stream that writes ``log_safe`` text to the stream beneath, a line at a time.

    A line is held until its break (or a flush), so that ``::`` or ``##[`` split over two
    writes is still seen whole; a flush writes what is held but for what the next write could
    still make a command of (a line so far only whitespace and colons, a trailing '#').
    Everything else (isatty, fileno, encoding...) is the stream beneath's.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._held = ""  # the current line's text not written yet
        self._started = False  # the current line's start is written: nothing later in it can start a command

    def write(self, text: str) -> int:
        whole = self._held + text
        if "::" not in whole and "##[" not in whole and whole.replace("\n", "").isprintable():
            done, newline, self._held = whole.rpartition("\n")  # nothing to escape: the common case, checked in C
            if newline:
                self.stream.write(done + "\n")
                self._started = False
            return len(text)
        *lines, self._held = whole.split("\n")
        if lines:
            lines[0] = self._safe(lines[0])
            lines[1:] = [log_safe_line(line) for line in lines[1:]]
            self.stream.write("\n".join(lines) + "\n")
            self._started = False
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._write_held(final=False)
        self.stream.flush()

    def _safe(self, part: str) -> str:
        """The held part of the current line, made safe: a line's start, or the rest of a started line."""
        return _MARKER.sub(r"\\x23", _escape_characters(part)) if self._started else log_safe_line(part)

    def _write_held(self, final: bool) -> None:
        held = self._held
        if not final and not self._started and not held.replace(":", "").strip():
            return  # '  :' and the next write ':add-mask::' would make a command
        keep = 0 if final else len(held) - len(held.rstrip("#"))  # '#' and the next write '#[...'
        if len(held) > keep:
            self.stream.write(self._safe(held[: len(held) - keep]))
            self._held, self._started = held[len(held) - keep :], True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def guarded_output() -> Iterator[None]:
    """sys.stdout and sys.stderr guarded (``GuardedStream``) until the block ends."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(sys.stdout), GuardedStream(sys.stderr)
    try:
        yield
    finally:
        guarded = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = saved
        for stream in guarded:
            if isinstance(stream, GuardedStream):
                try:
                    stream._write_held(final=True)
                    stream.stream.flush()
                except (OSError, ValueError):  # the reader went away, or the stream was closed
                    pass


def unguarded(stream: TextIO) -> TextIO:
    """The stream beneath a guard, what it holds written first (for text nnspec builds from
    escaped parts and that must reach the stream as it is: workflow commands, a progress bar).
    What the guard writes after it is taken as the start of a line."""
    if isinstance(stream, GuardedStream):
        stream._write_held(final=True)
        stream._started = False  # what comes next may start a line: the guard takes it as one
        return stream.stream
    return stream
