"""The project's import graph. Between the top-level packages: core and channels_app at the floor,
costs below pipeline, reviews above it, scripts free of Django, no app importing the project
package. Inside pipeline/: entry points -> integrations -> core. Imports inside functions count
too (a lazy import hides a cycle or a backward dependency, it does not remove it); migrations and
tests aside."""

import ast
from pathlib import Path

import pipeline

ROOT = Path(pipeline.__file__).parent
SKIPPED = {"migrations", "templatetags"}
# Entry points: Celery tasks, the reconciler, commands, admin, views, app wiring, the demo.
ENTRY_POINTS = {
    "pipeline.admin",
    "pipeline.admin_channels",
    "pipeline.apps",
    "pipeline.demo",
    "pipeline.doctor",
    "pipeline.reconcile",
    "pipeline.tasks",
    "pipeline.views",
}


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    modules = {}
    for path in ROOT.rglob("*.py"):
        if SKIPPED & set(path.relative_to(ROOT).parts):
            continue
        modules[_module_name(path)] = path
    return modules


def _imports(name, path, modules):
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target != "pipeline":
                found.add(target)
    return found


def import_graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def layer(name):
    if name in ENTRY_POINTS or name.startswith("pipeline.management") or name.endswith("_tasks"):
        return "entry point"
    if name.startswith("pipeline.integrations"):
        return "integration"
    return "core"


def _cycles(graph):
    """Tarjan's strongly connected components with more than one member (or a self-loop)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in sorted(graph[node]):
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_it_finds_no_import_cycle_in_pipeline():
    assert _cycles(import_graph()) == []


def test_it_finds_a_cycle_hidden_in_a_function(tmp_path):
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


def test_the_core_imports_no_integration_and_no_entry_point():
    graph = import_graph()
    wrong = sorted(
        f"{name} -> {target} ({layer(target)})"
        for name, targets in graph.items()
        if layer(name) == "core"
        for target in targets
        if layer(target) != "core"
    )
    assert wrong == []


def test_integrations_import_no_entry_point():
    graph = import_graph()
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        if layer(name) == "integration"
        for target in targets
        if layer(target) == "entry point"
    )
    assert wrong == []


def test_pipeline_modules_stay_readable_in_length():
    """A module past ~400 lines mixes concerns: split it by concern before it grows further."""
    long_files = sorted(
        f"{path.relative_to(ROOT.parent)}: {len(path.read_text().splitlines())} lines"
        for path in _modules().values()
        if len(path.read_text().splitlines()) > 420
    )
    assert long_files == []


# --- Between the top-level packages ---------------------------------------------------------------

PROJECT = ROOT.parent
# What each package may import of the others, the floors first. videogen, the project package,
# wires the apps together (settings, URLs, Celery) and is no app: it may import any of them, and
# none of them may import it (settings come through django.conf.settings).
MAY_IMPORT = {
    "core": set(),
    "channels_app": {"core"},
    "costs": {"core", "channels_app"},
    "pipeline": {"core", "channels_app", "costs"},
    "reviews": {"core", "channels_app", "costs", "pipeline"},
    "scripts": {"core"},
}
PACKAGES = {*MAY_IMPORT, "videogen"}
# The scripts run as plain processes: of the project they may import only these Django-free
# modules, and no Django at all.
SCRIPTS_SHARE = ("core.text", "core.ffmpeg")


def _package_imports(path, package):
    """(line, imported module) of every absolute import in the file, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if "." in node.module:
                yield node.lineno, node.module
            else:  # `from core import ffmpeg` imports core.ffmpeg: name it, the rules see it
                yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _shared_with_scripts(module):
    return any(module == shared or module.startswith(shared + ".") for shared in SCRIPTS_SHARE)


def backward_imports(project):
    """Every import site that breaks the direction between the top-level packages, as
    "path:line: importer -> imported (rule)"."""
    wrong = set()
    for package in sorted(MAY_IMPORT):
        for path in sorted((project / package).rglob("*.py")):
            relative = path.relative_to(project)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts)
            for line, target in _package_imports(path, package):
                top = target.split(".")[0]
                where = f"{relative}:{line}: {module} -> {target}"
                if package == "scripts" and top == "django":
                    wrong.add(f"{where} (scripts run without Django)")
                elif package == "scripts" and top == "core" and target != "core":
                    if not _shared_with_scripts(target):
                        wrong.add(f"{where} (scripts share only {', '.join(SCRIPTS_SHARE)})")
                elif _shared_with_scripts(module) and top == "django":
                    wrong.add(f"{where} (the scripts import this module: no Django)")
                elif top == "videogen":
                    wrong.add(f"{where} (no app imports the project package)")
                elif top in PACKAGES and top != package and top not in MAY_IMPORT[package]:
                    wrong.add(f"{where} ({package} stands below {top})")
    return sorted(wrong)


def test_no_package_imports_one_above_it():
    assert backward_imports(PROJECT) == []


def _write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_it_finds_backward_imports_at_module_and_function_level(tmp_path):
    _write(tmp_path, "core/fine.py", "import json\nfrom core import other\n")
    _write(tmp_path, "core/bad.py", "def f():\n    from reviews.models import Review\n")
    _write(tmp_path, "channels_app/bad.py", "import pipeline.status\n")
    _write(tmp_path, "costs/bad.py", "from videogen import logging\n")
    _write(tmp_path, "pipeline/bad.py", "class A:\n    def m(self):\n        import reviews\n")
    _write(tmp_path, "pipeline/migrations/0001_x.py", "import reviews\n")  # migrations aside
    _write(tmp_path, "reviews/fine.py", "from pipeline.models import VideoTask\nimport core\n")
    _write(tmp_path, "scripts/bad.py", "import django\nfrom core.alerts import alert_send\n")
    _write(tmp_path, "scripts/fine.py", "from core.text import narration\nimport core.ffmpeg\n")
    _write(tmp_path, "core/text/bad.py", "from django.conf import settings\n")

    assert backward_imports(tmp_path) == [
        "channels_app/bad.py:1: channels_app.bad -> pipeline.status (channels_app stands below "
        "pipeline)",
        "core/bad.py:2: core.bad -> reviews.models (core stands below reviews)",
        "core/text/bad.py:1: core.text.bad -> django.conf (the scripts import this module: no "
        "Django)",
        "costs/bad.py:1: costs.bad -> videogen.logging (no app imports the project package)",
        "pipeline/bad.py:3: pipeline.bad -> reviews (pipeline stands below reviews)",
        "scripts/bad.py:1: scripts.bad -> django (scripts run without Django)",
        "scripts/bad.py:2: scripts.bad -> core.alerts (scripts share only core.text, core.ffmpeg)",
    ]
