"""The core stays UI-free: no Textual (or rich) import outside ssescope/tui (and the CLI shells)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ssescope"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_textual_import_outside_tui() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "tui" not in p.relative_to(PACKAGE).parts and "textual" in _imports(p)
    ]
    assert offenders == []


def test_core_imports_neither_textual_nor_rich() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in (PACKAGE / "core").rglob("*.py")
        if _imports(p) & {"textual", "rich"}
    ]
    assert offenders == []


def test_importing_the_core_and_check_loads_no_ui() -> None:
    """Import every core module in a fresh interpreter and look at sys.modules.

    (rich may appear: httpx imports it for its own command line when click is installed; the AST
    test above proves the core itself does not.)"""
    modules = sorted(
        "ssescope.core." + p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import ssescope.cli\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# The house limits (README, "Architecture"): no function longer than 60 lines or more complex than
# 15 (radon's cyclomatic complexity, which counts boolean operators too; ruff's C901 holds mccabe's
# to 15 as well). A function may stand over a limit only with its reason here; an entry that no
# longer applies fails, so the lists cannot go stale.
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15
LONG_FUNCTIONS: dict[str, str] = {}
COMPLEX_FUNCTIONS: dict[str, str] = {}


def _long_functions() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{module}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_the_house_limit() -> None:
    found = _long_functions()
    over = {name: lines for name, lines in found.items() if name not in LONG_FUNCTIONS}
    assert over == {}, f"functions over {MAX_FUNCTION_LINES} lines: {over}"
    stale = sorted(set(LONG_FUNCTIONS) - set(found))
    assert stale == [], f"LONG_FUNCTIONS lists functions that are no longer long: {stale}"


def test_no_import_cycle_between_modules() -> None:
    """Every module-level import cycle, across packages too (import-linter's acyclic_siblings
    contract sees cycles among the children of one package only)."""
    import grimp

    graph = grimp.build_graph("ssescope")
    cycles = {
        tuple(sorted(cycle))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if (cycle := graph.find_shortest_chain(importer=imported, imported=module))
    }
    assert sorted(cycles) == []


def _complex_functions() -> dict[str, int]:
    from radon.complexity import cc_visit

    found: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        blocks = list(cc_visit(path.read_text(encoding="utf-8")))
        while blocks:
            block = blocks.pop()
            blocks.extend(getattr(block, "methods", ()) or ())
            blocks.extend(getattr(block, "closures", ()) or ())
            if not hasattr(block, "methods") and block.complexity > MAX_COMPLEXITY:
                found[f"{module}:{block.name}"] = block.complexity
    return found


def test_no_function_is_more_complex_than_the_house_limit() -> None:
    found = _complex_functions()
    over = {name: cc for name, cc in found.items() if name not in COMPLEX_FUNCTIONS}
    assert over == {}, f"functions over complexity {MAX_COMPLEXITY}: {over}"
    stale = sorted(set(COMPLEX_FUNCTIONS) - set(found))
    assert stale == [], f"COMPLEX_FUNCTIONS lists functions that are no longer complex: {stale}"
