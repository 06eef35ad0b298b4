"""The import contracts of .importlinter hold: layers run one way, no cycles.

import-linter builds its graph with grimp, which only takes packages as roots
(import-linter issue 349); app.py, models.py and the other top-level modules
are single files, and services/ has no __init__.py. So the graph is built here
from the source, with every import statement, also those inside functions, and
handed to import-linter, which checks the contracts as written in the file.
"""
import ast
import re
from pathlib import Path

import grimp
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"


def _module_files(root_names) -> dict[str, Path | None]:
    """Module name -> file, for each root that exists (an optional layer may not, yet).
    A package without __init__.py (services/) is a module without a file."""
    found = {}
    for name in root_names:
        if (ROOT / f"{name}.py").is_file():
            found[name] = ROOT / f"{name}.py"
        elif (ROOT / name).is_dir():
            found[name] = None
            for path in sorted((ROOT / name).rglob("*.py")):
                parts = path.relative_to(ROOT).with_suffix("").parts
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported_names(tree: ast.AST, module: str, is_package: bool):
    """(name, line) for each import: `from a import b` yields a.b, which may be a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = [node.module] if node.module else []
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[:len(package) - node.level + 1] + base
            for alias in node.names:
                yield ".".join([*base, alias.name]), node.lineno


def build_graph(root_names, extra_imports=()) -> grimp.ImportGraph:
    files = _module_files(root_names)
    graph = grimp.ImportGraph()
    for module in files:
        graph.add_module(module)
    for module, path in files.items():
        if path is None:
            continue
        source = path.read_text("utf-8")
        lines = source.splitlines()
        for name, line in _imported_names(ast.parse(source), module, path.name == "__init__.py"):
            # The longest prefix that is one of ours: views.is_htmx is the module views.
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph.add_import(importer=module, imported=name, line_number=line,
                                 line_contents=lines[line - 1].strip())
    for importer, imported in extra_imports:
        graph.add_import(importer=importer, imported=imported, line_number=1,
                         line_contents=f"import {imported}")
    return graph


CONTRACT_TYPES = {"layers": LayersContract, "acyclic_siblings": AcyclicSiblingsContract}


def broken_contracts(extra_imports=()) -> list[str]:
    """The ids of the contracts the code breaks; import-linter prints why to stdout."""
    options = read_configuration(str(CONFIG))
    graph = build_graph(options["session_options"]["root_packages"], extra_imports)
    broken = []
    for contract_options in options["contracts_options"]:
        contract = CONTRACT_TYPES[contract_options["type"]](
            name=contract_options["name"], session_options=options["session_options"],
            contract_options=contract_options)
        check = contract.check(graph, verbose=False)
        if not check.kept:
            contract.render_broken_contract(check)
            broken.append(contract_options["id"])
    return broken


def test_the_contracts_are_kept():
    assert broken_contracts() == [], "an import breaks .importlinter: see the report above"


def test_every_module_of_the_portal_is_in_a_layer():
    """A module outside the layers could close a cycle between them unseen."""
    options = read_configuration(str(CONFIG))
    roots = set(options["session_options"]["root_packages"])
    ours = {path.stem for path in ROOT.glob("*.py")}
    # Tests, benchmarks and migrations are run or loaded by path, never imported by the portal.
    ours |= {path.parent.name for path in ROOT.glob("*/*.py")
             if path.parent.name not in ("tests", "bench", "migrations")}
    assert ours <= roots
    layers = next(contract["layers"] for contract in options["contracts_options"]
                  if contract["type"] == "layers")
    in_layers = {name.strip("() ") for layer in layers for name in re.split(r"[|:]", layer)}
    assert roots == in_layers


def test_an_upward_import_breaks_the_layers():
    assert broken_contracts(extra_imports=[("models", "services.accounts")]) == ["layers"]
    assert broken_contracts(extra_imports=[("services.reports", "extensions")]) == ["layers"]
    assert broken_contracts(extra_imports=[("crypto", "fields")]) == ["layers"]


def test_a_cycle_inside_a_package_is_found():
    assert broken_contracts(extra_imports=[("services.identity", "services.accounts")]) == \
        ["acyclic"]
    assert broken_contracts(extra_imports=[("views.home", "views.auth"),
                                           ("views.auth", "views.home")]) == ["acyclic"]
