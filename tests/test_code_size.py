"""Size limits in src/: no module over 400 lines, no function over 80 (issue 28).

A function counts from its ``def`` line to its last line (docstring and nested functions
included, decorators not); a module counts every line, as ``wc -l``. Nothing is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MODULE_LINES = 400
FUNCTION_LINES = 80


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def function_lengths(path: Path) -> dict[str, int]:
    """Lines of every function and method in ``path``, by qualified name."""
    lengths = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lengths[name] = child.end_lineno - child.lineno + 1
                name += "."
            visit(child, name)

    visit(ast.parse(path.read_text(), str(path)), "")
    return lengths


def relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def test_the_walk_sees_the_package():
    names = {relative(path) for path in modules()}
    assert "haplexpr/cli.py" in names and len(names) > 50
    lengths = function_lengths(SRC / "haplexpr/training/loop.py")
    assert "train" in lengths and "Validation" not in lengths  # functions and methods only
    settings = function_lengths(SRC / "haplexpr/training/settings.py")
    assert "TrainingSettings.from_config" in settings


def test_no_module_over_the_limit():
    sizes = {relative(p): len(p.read_text().splitlines()) for p in modules()}
    over = {name: n for name, n in sizes.items() if n > MODULE_LINES}
    assert over == {}, f"modules over {MODULE_LINES} lines: split them by what the pieces do"


def test_no_function_over_the_limit():
    lengths = {
        f"{relative(path)}:{name}": n
        for path in modules()
        for name, n in function_lengths(path).items()
    }
    over = {name: n for name, n in lengths.items() if n > FUNCTION_LINES}
    assert over == {}, f"functions over {FUNCTION_LINES} lines: split them"
