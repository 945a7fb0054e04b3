"""The layout of cnnlib: one home per concept, small modules, nothing public that nothing uses.

These are the checks of issue 16, kept: one counting function touches
``numel()``; no module is much over 450 lines; the package ``__init__``
imports the numerical core and no chapter module; and every public function
of cnnlib is used somewhere other than its own module and the tests (by
another module, a chapter, the homework or the book's extensions), so that
what only its module uses is private.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "cnnlib"
MODULES = sorted(LIB.rglob("*.py"))
MAX_LINES = 450
CORE = {"conv", "pool", "matrix", "layers", "shapes", "shift", "validate"}


def readers():
    """Every file outside cnnlib and the tests that may use cnnlib: chapters, homework, extensions, scripts."""
    files = list((ROOT / "chapters").glob("*.md")) + list((ROOT / "homework").rglob("*.py"))
    files += list((ROOT / "homework").glob("*.md")) + list((ROOT / "_ext").glob("*.py"))
    files += list((ROOT / "scripts").glob("*.py")) + [ROOT / "Makefile"]
    return {path: path.read_text() for path in files if path.exists()}


def module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def public_functions(path):
    tree = ast.parse(path.read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


def test_one_function_counts_parameters_of_a_module():
    hits = [(path, line) for path in MODULES for line in path.read_text().splitlines() if "numel()" in line]
    assert [path.name for path, _ in hits] == ["counting.py"], hits


def test_no_module_is_much_over_450_lines():
    long = {module_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_the_package_imports_the_core_only():
    tree = ast.parse((LIB / "__init__.py").read_text())
    imported = {node.module.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "cnnlib"
                 for alias in node.names}
    assert imported <= CORE, imported - CORE


def test_every_public_function_is_used_outside_its_module_and_the_tests():
    """Textual, so deliberately strict about *where*: a file uses ``module.name`` when it names the
    function and the module (its last component, or ``cnnlib`` for what the package exports)."""
    exported = set(re.findall(r'"(\w+)"', (LIB / "__init__.py").read_text()))
    texts = {path: path.read_text() for path in MODULES} | readers()
    unused = []
    for path in MODULES:
        module = module_name(path)
        short = module.split(".")[-1]
        for name in public_functions(path):
            word = re.compile(rf"\b{name}\b")
            owner = re.compile(rf"\b{short}\b" + (r"|\bcnnlib\b" if name in exported else ""))
            if not any(word.search(text) and owner.search(text) for other, text in texts.items() if other != path):
                unused.append(f"{module}.{name}")
    assert not unused, "public but used only by their own module and the tests (make them private): " + \
        ", ".join(unused)
