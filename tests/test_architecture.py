"""The package reads as the physics pipeline (docs/architecture.md): no import cycle
among its modules (function-level imports included), the physics core never imports the
outside world, FiPy only in the mesh adapter, and ``import mesokinetics`` stays light."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mesokinetics"

#: Modules outside the physics core (files, figures, command line, workflows).
OUTSIDE = ("mesokinetics.io", "mesokinetics.plotting", "mesokinetics.cli", "mesokinetics.sweep",
           "mesokinetics.workflow")


#: The only import edges from the physics core to the outside world, each with its reason.
#: ``mesokinetics.response.saving`` -> ``mesokinetics.workflow``: ``.save(folder)`` on the
#: result objects is a convenience method delegating to the I/O layer (a function-level
#: import, made when a user calls it); the core itself never calls it, so the solvers
#: still do no I/O and ``import mesokinetics`` still does not load the workflow layer.
ALLOWED_EDGES = {("mesokinetics.response.saving", "mesokinetics.workflow")}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, mods: dict, tree=None) -> set[str]:
    """Every package module ``name`` imports, at any depth of the file (function-level
    imports included; ``tree``: only these statements); ``from pkg import sub`` counts as
    importing the module ``sub``."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree if tree is not None else ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if full in mods:
                    out.add(full)
                elif target in mods:
                    out.add(target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in mods}
    out.discard(name)
    return out


def _graph(allowed=ALLOWED_EDGES) -> dict[str, set[str]]:
    """The import graph of the package, without the ``allowed`` edges."""
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    for source, target in allowed:
        graph.get(source, set()).discard(target)
    return graph


def test_the_allowed_edges_exist_and_are_function_level_imports():
    """Each allowlisted edge is real (a stale entry would mislead) and made inside a
    function, so importing the core never loads the outside world."""
    mods = _modules()
    full = _graph(allowed=set())
    assert len(ALLOWED_EDGES) == 1
    for source, target in ALLOWED_EDGES:
        assert target in full[source], (source, target)
        top_level = ast.Module(body=ast.parse(mods[source].read_text()).body, type_ignores=[])
        top_level.body = [n for n in top_level.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert target not in _imports(source, mods[source], mods, tree=top_level), (source, target)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_the_package_modules():
    graph = _graph()
    graph.pop("mesokinetics")  # the package namespace re-exports; nothing imports it back
    assert all("mesokinetics" not in deps for deps in graph.values()), \
        {m for m, deps in graph.items() if "mesokinetics" in deps}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_physics_core_never_imports_the_outside_world():
    graph = _graph()
    core = [m for m in graph if m != "mesokinetics" and not m.startswith(OUTSIDE)]
    bad = {m: sorted(d for d in graph[m] if d.startswith(OUTSIDE)) for m in core}
    assert not {m: d for m, d in bad.items() if d}


def test_fipy_is_imported_by_the_mesh_adapter_only():
    users = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "fipy" for n in names):
                users.add(name)
    assert users == {"mesokinetics.samples.fipy_adapter"}


def test_import_loads_neither_kubo_nor_scipy_optimize_nor_plotting():
    """``import mesokinetics`` loads the solvers only: the Kubo check, scipy.optimize,
    matplotlib, FiPy and the workflow layer load on first use."""
    code = ("import sys, mesokinetics; heavy = [m for m in ('mesokinetics.kubo', 'scipy.optimize', "
            "'matplotlib', 'fipy', 'mesokinetics.workflow', 'mesokinetics.io.config') "
            "if m in sys.modules]; print(heavy); assert not heavy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_lazy_names_resolve():
    import mesokinetics as mk

    assert mk.kubo.solve_uniform_kubo is not None
    assert callable(mk.run) and callable(mk.load_config) and callable(mk.load_result)
    assert mk.topology.chern_number is not None
