"""pipeline/ reads top-down: entry points -> integrations -> core. Imports inside functions count
too (a lazy import hides a cycle, it does not remove it)."""

import ast
from pathlib import Path

import pipeline

ROOT = Path(pipeline.__file__).parent
SKIPPED = {"migrations", "templatetags"}
# Entry points: Celery tasks, the reconciler, commands, admin, views, app wiring, the demo.
ENTRY_POINTS = {
    "pipeline.admin",
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
    """design.md: split by concern once a file passes ~400 lines."""
    long_files = sorted(
        f"{path.relative_to(ROOT.parent)}: {len(path.read_text().splitlines())} lines"
        for path in _modules().values()
        if len(path.read_text().splitlines()) > 420
    )
    assert long_files == []
