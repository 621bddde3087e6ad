"""The layer contracts in pyproject.toml hold, and they can fail: an engine module that imports a
feature breaks them (checked on a copy of the code with one such import added)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # before site-packages: the copy is what gets analysed
    return subprocess.run(LINT, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_hold_and_an_engine_import_of_a_feature_breaks_them(tmp_path):
    for name in ("console", "jobs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = _lint(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    runs = tmp_path / "console" / "sync" / "runs" / "lifecycle.py"
    runs.write_text(runs.read_text() + "\n\ndef _checklist():\n    from ...wizard import readiness\n    return readiness\n")
    broken = _lint(tmp_path)
    assert broken.returncode == 1 and "The engine never imports a feature BROKEN" in broken.stdout, broken.stdout
    assert "console.sync.runs.lifecycle -> console.wizard.readiness" in broken.stdout


def test_every_module_of_the_console_sits_in_a_layer():
    """A module outside every layer is checked by no layer contract: its upward imports go unseen."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in config if c["type"] == "layers")
    placed = {name.strip() for layer in layers for name in layer.split(":")}
    top = {f"console.{p.stem}" for p in (ROOT / "console").glob("*.py") if p.stem != "__init__"}
    top |= {f"console.{p.parent.name}" for p in (ROOT / "console").glob("*/__init__.py")}
    assert sorted(top - placed) == []
    assert "jobs" in placed


def test_views_leave_the_commits_to_services():
    """A module with routes parses, authorizes, calls a service and renders: the services commit."""
    offenders = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        text = path.read_text()
        if "@bp.get" not in text and "@bp.post" not in text and "@bp.route" not in text:
            continue
        offenders += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if "db.session.commit(" in line and "view-commit allowed" not in line]
    assert offenders == []


def test_no_module_is_over_three_hundred_lines():
    """Small modules named for what they do (STYLE): a module past 300 lines is split along what it does."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for d in ("console", "jobs") for p in (ROOT / d).rglob("*.py")}
    assert sorted(path for path, n in sizes.items() if n > 300) == []


def test_no_import_cycle_but_a_blueprint_and_its_routes():
    """Modules that import each other cannot be read one at a time. The one cycle allowed is Flask's blueprint
    idiom: a package defines `bp` and imports its route modules, which import `bp` back. Those imports of a
    blueprint package by its own modules are set aside; any cycle left is a fault."""
    import grimp

    graph = grimp.build_graph("console", "jobs")
    for package in [m for m in graph.modules if (ROOT / m.replace(".", "/") / "__init__.py").exists()]:
        if "Blueprint(" not in (ROOT / package.replace(".", "/") / "__init__.py").read_text():
            continue
        for child in graph.find_modules_that_directly_import(package):
            if child.startswith(package + "."):
                graph.remove_import(importer=child, imported=package)
    cycles = sorted({" <-> ".join(sorted((m, o))) for m in graph.modules for o in graph.find_modules_directly_imported_by(m)
                     if graph.find_shortest_chain(importer=o, imported=m)})
    assert cycles == []
