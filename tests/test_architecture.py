"""The import graph, read from the source: dependencies run one way.

Layers, lowest first: `biomuseum` (what every app shares), `organisms`, `blogs` (posts refer to organisms),
`ops` (watches everything). A module imports its own app and the layers below it, never above; the
composition root (settings, urls, wsgi, the Celery app and the package that loads it) may import anything,
and nothing imports it. Imports inside functions count as much as those at the top of a module.
"""

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("biomuseum", "organisms", "blogs", "ops")
COMPOSITION_ROOT = frozenset(
    {"biomuseum", "biomuseum.settings", "biomuseum.urls", "biomuseum.wsgi", "biomuseum.celery"}
)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = project_modules()


def _resolve(name: str) -> str | None:
    """The project module an import names (a name imported from a package may be a submodule)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module
            for alias in node.names:
                found.add(_resolve(f"{source}.{alias.name}") or _resolve(source))
    found.discard(None)
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_the_reader_sees_the_imports_it_must_judge():
    """The rules below are only as good as this reading: it must find relative, package and lazy imports."""
    assert "biomuseum.pagecache.app" in GRAPH["biomuseum.pagecache"]  # from .app import ...
    assert "biomuseum.ratelimits" in GRAPH["biomuseum.throttles"]  # from . import ratelimits
    assert "biomuseum.pagecache" in GRAPH["ops.wsgi"]  # from biomuseum import pagecache
    assert "ops.metrics" in GRAPH["ops.apps"]  # imported inside a function
    assert "organisms.models" in GRAPH["blogs.selectors"]  # an app importing the layer below


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module not in COMPOSITION_ROOT
        for target in targets
        if target not in COMPOSITION_ROOT and _layer(target) > _layer(module)
    )
    assert upward == []


def test_nothing_imports_the_composition_root():
    inward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module not in COMPOSITION_ROOT
        for target in targets & COMPOSITION_ROOT
    )
    assert inward == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(GRAPH):
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_the_import_graph_has_no_cycle():
    assert _cycles() == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(monkeypatch, graph, expected):
    monkeypatch.setitem(globals(), "GRAPH", graph)
    assert _cycles() == expected


def test_the_page_cache_imports_without_the_apps_loaded():
    """The benchmark (bench/environment.py) and the WSGI entry point import the page cache before, or
    without, Django's app registry: no model may be imported when the package is."""
    import subprocess
    import sys

    code = "import django.conf; import biomuseum.pagecache.local, biomuseum.pagecache; print('imported')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "biomuseum.settings"}
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert completed.stdout.strip() == "imported", completed.stderr[-2000:]
