"""The YAML loader: plain data, a source map, and refusal of what a plain spec must not hold."""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.core.diagnostics import SpecError
from nnspec.spec.loader import load_file, load_text, scalar_value


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


def test_merge_keys_are_refused():
    assert codes("a: {<<: {b: 1}}\n") == [(1, 5, "yaml-merge-key")]
    assert codes("a: &x {b: 1}\nc: {<<: *x}\n") == [(1, 4, "yaml-anchor"), (2, 9, "yaml-alias")]


def test_an_explicit_tag_is_kept_and_a_value_it_cannot_take_is_located():
    assert load_text("a: !!str 1e5\nb: !!float 1\nc: !!int '7'\n").data == {"a": "1e5", "b": 1.0, "c": 7}
    assert codes("a: !!int x\nb: !!bool maybe\n") == [(1, 4, "yaml-value"), (2, 4, "yaml-value")]


def test_non_utf8_columns_count_characters_as_editors_do(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes("name: café \u00fc".encode() + b"\xff\n")
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert (caught.value.diagnostics[0].line, caught.value.diagnostics[0].column) == (1, 13)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.one_of(
        st.integers(-(10**20), 10**20).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.from_regex(r"[-+]?[0-9_]{0,6}(\.[0-9_]{0,6})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
        st.from_regex(r"[-+]?0[box]?[0-9a-fA-F_:]{0,6}", fullmatch=True),
        st.sampled_from(["~", "null", "yes", "No", "ON", "off", ".inf", "-.Inf", ".NaN", "1:30", "2024-01-01", "<<"]),
    )
)
def test_plain_scalars_read_as_pyyaml_reads_them(text):
    # The loader reads common numbers without PyYAML's resolver (faster); the value must be PyYAML's,
    # except exponents without a dot, which are numbers as in YAML 1.2.
    value, problem = scalar_value(text, None, (True, False), "")
    try:
        expected = yaml.safe_load(f"a: {text}\n")["a"] if text != "<<" else "<<"
    except yaml.YAMLError:
        return  # not a plain scalar (0: is a mapping)
    except ValueError:  # PyYAML resolves 0b_ as an integer, then cannot read it: nnspec says so
        assert "quote it" in problem, text
        return
    if isinstance(expected, datetime.date):
        assert value == text  # dates are kept as the text written
        return
    if problem or (isinstance(expected, str) and isinstance(value, float)):
        return  # a number too long to read, or a YAML 1.2 float
    assert value == expected or (value != value and expected != expected), (text, value, expected)
    assert type(value) is type(expected), (text, value, expected)


def test_loading_keeps_nothing_of_the_documents_it_read():
    # Found by fuzzing (the fuzzer's memory grew to 956 MB in 10 minutes): every number, boolean and
    # null ever loaded stayed in PyYAML's constructor tables, growing a long-lived process's memory.
    from nnspec.spec import loader

    for n in range(200):
        load_text(f"a: {n}\nb: !!int '{n}'\nc: yes\nd: 1.5e3\ne: ~\nf: 0x{n:x}\n")
        with pytest.raises(SpecError):
            load_text(f"a: !!int x{n}\n")
    assert not loader._constructor.constructed_objects and not loader._constructor.recursive_objects
