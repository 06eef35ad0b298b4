"""Test modules share helpers through tests/factories.py (and tests/browser/drivers.py),
never by importing another test module or a conftest: each test file can then be
moved, split or run alone."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(source: str, package: str):
    """Every module name an import in `source` may load; `package` resolves relative imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            # `from tests import test_x` names a module, not an attribute.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


@pytest.mark.parametrize("source, package, offending", [
    ("from tests.views.test_register import walk_to", "tests.services", True),
    ("from tests.conftest import PASSWORD", "tests.views", True),
    ("import tests.services.test_importer", "tests", True),
    ("from tests import test_app", "tests.views", True),
    ("from . import test_register", "tests.views", True),
    ("from ..conftest import Outbox", "tests.browser", True),
    ("from tests.factories import PASSWORD, walk_to", "tests.views", False),
    ("from tests.browser.drivers import Wizard", "tests.browser", False),
    ("from services import test_mode", "tests", False),
])
def test_the_rule_recognises_test_modules(source, package, offending):
    assert any(map(is_test_module, imported_modules(source, package))) is offending


def test_no_test_module_imports_another():
    offences = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).parent.parts)
        for name in imported_modules(path.read_text("utf-8"), package):
            if is_test_module(name):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(offences)
