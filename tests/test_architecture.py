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
        "import ssescope.cli.entry\n"
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


# Every import of an ssescope module inside a function (a deferred import) is a decision, listed
# here with its reason: the start-up time of a command (``ssescope check FILE`` must not pay for
# httpx, Textual, uvicorn or rich), or a heavy part that only one path needs. A deferred import is
# never a way around an import cycle (the contracts in pyproject.toml and the cycle test above see
# function-level imports too). An import that is not listed fails, and so does an entry whose
# import is gone: the failure prints the entries to add or remove.
DEFERRED_IMPORTS: dict[str, str] = {
    # the CLI and the shells: what only one command, or one path of it, needs
    "ssescope.cli -> ssescope.cli.entry": "the package's __init__ runs whenever a shell imports "
    "ssescope.cli.common: it must not import every shell back",
    "ssescope.cli.check -> ssescope.core.live": "httpx: only when check reads a URL",
    "ssescope.cli.check -> ssescope.health.rider": "the samples and diagnosis: only when check runs",
    "ssescope.cli.check -> ssescope.health.render": "rich: only for the report a person reads",
    "ssescope.cli.check -> ssescope.report": "rich: only for the report a person reads",
    "ssescope.engine.command -> ssescope.engine.app": "Starlette and the translator: engine runs",
    "ssescope.engine.command -> ssescope.engine.mock": "the mock: only when the engine runs",
    "ssescope.engine.command -> ssescope.engine.serve": "uvicorn: only when the engine runs",
    "ssescope.health.command -> ssescope.health.monitor": "the probes (httpx): only when probing",
    "ssescope.health.command -> ssescope.health.render": "rich: only for the health table",
    "ssescope.health.command -> ssescope.health.samples": "only when `ssescope health` runs",
    "ssescope.probe.command -> ssescope.probe.render": "rich: only for the table a person reads",
    "ssescope.probe.command -> ssescope.probe.runner": "httpx and the checker: only when probing",
    "ssescope.proxy.command -> ssescope.proxy.app": "the proxy app: only when the proxy runs",
    "ssescope.proxy.command -> ssescope.proxy.hub": "the hub (httpx): only when the proxy runs",
    "ssescope.proxy.command -> ssescope.proxy.serve": "uvicorn: only when the proxy runs",
    "ssescope.tui.app -> ssescope.core.export": "the exporters: only when a session is exported",
    "ssescope.tui.command -> ssescope.core.live": "httpx: only when connect reads a URL",
    "ssescope.tui.command -> ssescope.tui.app": "Textual: only when a command opens the UI",
    "ssescope.tui.command -> ssescope.tui.proxy_view": "Textual: only when the proxy UI opens",
    # the core
    "ssescope.core.check -> ssescope.core.live": "httpx: only when a URL is read",
    "ssescope.core.run -> ssescope.core.live": "httpx: only when a stream is read live (open starts "
    "faster)",
    "ssescope.core.codex -> ssescope.core.models": "the pydantic event models: built when first needed",
    # the health layer
    "ssescope.health.rider -> ssescope.health.monitor": "the probes (httpx): only when probing",
    # the engine and the proxy
    "ssescope.proxy.app -> ssescope.proxy.translate": "the engine: only with proxy --translate",
    "ssescope.proxy.serve -> ssescope.proxy.metrics": "prometheus-client's server: only with "
    "proxy --metrics",
    # the TUI: the parts only one mode needs
    "ssescope.tui.demo -> ssescope.core.live": "httpx: only when the demo sends a request",
    "ssescope.tui.demo -> ssescope.engine.faults": "the fault catalogue: only in demo's picker",
    "ssescope.tui.demo -> ssescope.engine.serve": "uvicorn and the engine: only when demo runs",
    "ssescope.tui.demo -> ssescope.engine.app": "the engine's config: only when demo runs",
    "ssescope.tui.demo -> ssescope.engine.mock": "the mock's options: only when demo runs",
    "ssescope.tui.demo -> ssescope.engine.simulated": "the simulated server: only when demo runs",
    "ssescope.tui.demo -> ssescope.health.monitor": "httpx and the probes: only when demo runs",
    "ssescope.tui.modes -> ssescope.asgi": "the ASGI helpers: only for connect --via-engine",
    "ssescope.tui.modes -> ssescope.engine.app": "the engine: only for connect --via-engine",
    "ssescope.tui.modes -> ssescope.engine.serve": "uvicorn: only for connect --via-engine",
    "ssescope.tui.modes -> ssescope.engine.upstream": "the engine: only for connect --via-engine",
    "ssescope.tui.modes -> ssescope.health.monitor": "the probes (httpx): only with --server/--gpu",
    "ssescope.tui.modes -> ssescope.health.tracker": "the health tracker: only with --server/--gpu",
    "ssescope.tui.proxy_view -> ssescope.health.monitor": "the probes: only with --server/--gpu",
    "ssescope.tui.proxy_view -> ssescope.proxy.serve": "uvicorn: only when the proxy UI serves",
    "ssescope.tui.render -> ssescope.health.diagnosis": "the diagnosis: only when a run stalls",
    "ssescope.tui.widgets -> ssescope.health.render": "the health tables: only with samples",
}


def _module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ssescope_modules_imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> list[str]:
    """The ssescope modules an import statement in ``module`` imports (a name imported from a
    package counts as its submodule when there is one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE.name]
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE.name:
        return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]


def _deferred_imports() -> dict[str, str]:
    """{"importer -> imported": "file:line"} for every import inside a function."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_of(p) for p in paths}
    found: dict[str, str] = {}
    for path in paths:
        module = _module_of(path)
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    is_package = path.name == "__init__.py"
                    for imported in _ssescope_modules_imported(node, module, is_package, modules):
                        where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                        found.setdefault(f"{module} -> {imported}", where)
    return found


def test_every_deferred_import_is_a_listed_decision() -> None:
    found = _deferred_imports()
    unlisted = {
        edge: where for edge, where in sorted(found.items()) if edge not in DEFERRED_IMPORTS
    }
    stale = sorted(set(DEFERRED_IMPORTS) - set(found))
    report = []
    if unlisted:
        report.append("add to DEFERRED_IMPORTS (with the reason the import is deferred):")
        report += [f'    "{edge}": "...",  # {where}' for edge, where in unlisted.items()]
    if stale:
        report.append("remove from DEFERRED_IMPORTS (the import is gone or at module level):")
        report += [f'    "{edge}"' for edge in stale]
    assert not report, "\n".join(report)
