"""The YAML loader: plain data, a source map, and refusal of what a plain spec must not hold."""

from __future__ import annotations

import pytest

from nnspec.diagnostics import SpecError
from nnspec.loader import load_file, load_text


def codes(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(SpecError) as caught:
        load_text(text, "t.yaml")
    return [(d.line, d.column, d.code) for d in caught.value.diagnostics]


def test_plain_data_and_source_map():
    doc = load_text("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [9]}\n  - name: t\n    type: Tanh\n")
    assert doc.data == {
        "nnspec": 1,
        "layers": [{"name": "x", "type": "Input", "size": [9]}, {"name": "t", "type": "Tanh"}],
    }
    assert doc.source_map.locate(("layers", 0, "size")) == (3, 34)
    assert doc.source_map.locate(("layers", 1, "type")) == (5, 11)
    assert doc.source_map.locate(("layers", 1, "type"), at_key=True) == (5, 5)
    # A path that is not in the document is located at its nearest ancestor.
    assert doc.source_map.locate(("layers", 1, "missing")) == (4, 5)


def test_scalars_resolve_as_yaml_core_types():
    doc = load_text("a: 1\nb: 1.5\nc: true\nd: null\ne: None\nf: 2024-01-01\ng: '1'\n")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "None", "f": "2024-01-01", "g": "1"}


def test_duplicate_keys_are_errors_at_the_second_key():
    assert codes("nnspec: 1\nlayers: []\nnnspec: 1\n") == [(3, 1, "yaml-duplicate-key")]


def test_anchors_and_aliases_are_refused_without_expanding_them():
    bomb = (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    )
    found = codes(bomb)
    assert (1, 4, "yaml-anchor") in found and (2, 4, "yaml-anchor") in found
    assert sum(code == "yaml-alias" for _, _, code in found) == 18


def test_python_tags_are_refused():
    assert codes("x: !!python/object/apply:os.system ['echo hi']\n") == [(1, 4, "yaml-tag")]


def test_a_second_document_is_refused():
    assert codes("nnspec: 1\n---\nnnspec: 1\n") == [(2, 1, "yaml-multiple-documents")]


def test_syntax_error_is_located():
    [(line, column, code)] = codes("nnspec: 1\nlayers: [\n")
    assert code == "yaml-syntax" and line == 3


def test_tab_indentation_says_so():
    with pytest.raises(SpecError) as caught:
        load_text("layers:\n\t- a\n")
    assert "tabs" in caught.value.diagnostics[0].message


def test_non_text_keys_are_refused_with_a_hint_for_yes_no():
    found = codes("on: 1\n2: 3\n")
    assert found == [(1, 1, "yaml-key"), (2, 1, "yaml-key")]


def test_deep_nesting_is_refused():
    assert codes("a: " + "[" * 100 + "]" * 100 + "\n")[0][2] == "yaml-too-deep"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert caught.value.diagnostics[0].code == "empty"


def test_bom_is_accepted_and_bad_bytes_are_located(tmp_path):
    good = tmp_path / "bom.yaml"
    good.write_bytes(b"\xef\xbb\xbfnnspec: 1\n")
    assert load_file(good).data == {"nnspec": 1}
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"nnspec: 1\nname: caf\xe9\n")
    with pytest.raises(SpecError) as caught:
        load_file(bad)
    d = caught.value.diagnostics[0]
    assert (d.line, d.column, d.code) == (2, 10, "encoding")


def test_exponent_numbers_without_a_dot_are_numbers_as_in_yaml_1_2():
    doc = load_text("a: 1e-5\nb: -3E+2\nc: '1e5'\nd: 1e\n")
    assert doc.data == {"a": 1e-5, "b": -300.0, "c": "1e5", "d": "1e"}
