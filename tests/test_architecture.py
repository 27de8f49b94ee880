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
