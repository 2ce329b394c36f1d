"""The house: no module imports another that imports it back (type-checking imports
included), and storage takes plain values, never the service's settings."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py"), *ROOT.glob("storage/*.py")]:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Module-level imports, those under `if TYPE_CHECKING:` too (imports inside
    functions are made at call time and cannot form a circle at import)."""
    deps: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {d for d in deps if d in modules}


def test_no_import_circles():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    circles = []
    for start in graph:
        # Depth-first from each module, looking for a way back to it.
        seen, todo = set(), [(start, (start,))]
        while todo:
            node, trail = todo.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" → ".join((*trail, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, (*trail, nxt)))
    assert not circles, circles[:5]


def test_storage_does_not_import_the_service_settings():
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("storage"):
            assert "bot.config" not in _imports(path, modules), name
