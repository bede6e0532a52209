"""Issue 18, section 4: what the docs and messages say is what works.

An extra is installed by its packages' names everywhere (nnspec is on no package index, so
``pip install 'nnspec[plot]'`` finds nothing), and those names are pyproject's; docs/spec.md lists
the initializers each parameter takes, as the catalog does."""

from __future__ import annotations

import re

from nnspec.core.extras import EXTRAS, install_hint
from nnspec.layers.catalog import layer_types

from .conftest import ROOT

# Where a user reads how to install something: the docs, every message and help text, the tests' skips.
TEXTS = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("nnspec/**/*.py"), *ROOT.glob("tests/*.py")]
TEXTS += [*ROOT.glob("benchmarks/*"), *ROOT.glob("scripts/*.py")]


def _optional_dependencies() -> dict[str, list[str]]:
    """pyproject.toml's [project.optional-dependencies], read by hand (tomllib is Python 3.11's)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return {
        name: re.findall(r'^\s*"([^"]+)"', body, re.M)
        for name, body in re.findall(r"^([a-z0-9_-]+) = \[\n(.*?)^\]", section, re.S | re.M)
    }


def _package(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()


def test_each_extra_installs_the_packages_pyproject_gives_it():
    extras = _optional_dependencies()
    assert {"image", "plot", "test"} <= set(extras)  # the premise: the file read as meant
    for name, packages in EXTRAS.items():
        assert sorted(p.lower() for p in packages) == sorted(_package(r) for r in extras[name]), name
    assert install_hint("plot") == "pip install matplotlib"


def test_nothing_tells_a_user_to_install_nnspec_from_a_package_index():
    this = __file__.rsplit("/", 1)[-1]
    said = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in TEXTS
        if path.is_file() and path.name != this
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if re.search(r"install\s+['\"]?nnspec\[", line)
    ]
    assert said == []


def test_the_readme_names_every_package_of_the_test_extra():
    readme = (ROOT / "README.md").read_text()
    about_test = readme[readme.index("The `test` extra adds") :].split("\n\n")[0]
    required = _optional_dependencies()["test"]
    assert "pytest" in map(_package, required)
    missing = [r for r in map(_package, required) if r not in about_test.lower()]
    assert missing == []


def _spec_md_initializer_lists() -> dict[str, tuple[str, ...]]:
    """docs/spec.md's bullets '- WHOSE: Init, Init, ...;' under the Parameters item."""
    text = (ROOT / "docs" / "spec.md").read_text()
    part = text[text.index("which a parameter takes depends on the parameter") :].split("\n\n")[0]
    bullets = re.findall(r"^  - (.*?):\s(.*?)[;.]$", part, re.S | re.M)
    return {whose.strip(): tuple(" ".join(names.split()).split(", ")) for whose, names in bullets}


def test_docs_spec_lists_the_initializers_each_parameter_takes_as_the_catalog_does():
    lists = _spec_md_initializer_lists()
    legacy = {"NormalAffineHe", "NormalConvolutionHe", "NormalCLConvHe"}  # a sentence of their own
    conv = lists["Convolution's `W`"]
    expected = {
        ("Affine", "W"): lists["Affine's `W`"],
        ("Convolution", "W"): conv,
        **{
            (name, "W"): tuple(i for i in conv if "CLConv" not in i)  # "Convolution's but the CLConv ones"
            for name in ("DepthwiseConvolution", "Deconvolution", "DepthwiseDeconvolution")
        },
        ("Parameter", "value"): tuple(dict.fromkeys(lists["Affine's `W`"] + conv)),
        ("DeformableConvolution", "W"): conv,
    }
    assert lists["DeformableConvolution's `W`"] == ("Convolution's",)
    assert lists["DepthwiseConvolution's, Deconvolution's and DepthwiseDeconvolution's `W`"] == (
        "Convolution's but the CLConv ones",
    )
    binary = {"Affine": lists["BinaryConnectAffine's and BinaryWeightAffine's `W` and `Wb`"]}
    binary["Convolution"] = lists["BinaryConnectConvolution's and BinaryWeightConvolution's `W`"]
    binary["Convolution Wb"] = lists["BinaryConnectConvolution's and BinaryWeightConvolution's `Wb`"]
    assert binary == {
        "Affine": ("Affine's",),
        "Convolution": ("Convolution's",),
        "Convolution Wb": ("Convolution's but the CLConv ones",),
    }
    for kind in ("Connect", "Weight"):
        expected[(f"Binary{kind}Affine", "W")] = expected[(f"Binary{kind}Affine", "Wb")] = expected[("Affine", "W")]
        expected[(f"Binary{kind}Convolution", "W")] = conv
        expected[(f"Binary{kind}Convolution", "Wb")] = expected[("Deconvolution", "W")]
    assert lists["the Parameter layer's `value`"] == ("Affine's and Convolution's together",)
    other = next(names for whose, names in lists.items() if whose.startswith("every other parameter"))
    checked = 0
    for t in layer_types().values():
        for p in t.parameters:
            takes = tuple(i for i in p.initializers if i not in legacy)
            assert takes == expected.get((t.name, p.name), other), (t.name, p.name)
            checked += 1
    assert checked > 20
