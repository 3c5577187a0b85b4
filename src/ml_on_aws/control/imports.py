"""What the project's modules import, read from their source with ``ast`` (nothing is imported).

Every import counts, including those inside functions: a module a handler imports lazily must be
in the Lambda package as surely as one it imports at the top. The Lambda package
(:mod:`.lambda_package`) takes its modules from :func:`module_closure`; the layering test of the
packages reads the same graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ml_on_aws

PACKAGE = ml_on_aws.__name__
SOURCE_ROOT = Path(ml_on_aws.__file__).resolve().parent.parent


def module_name(path: Path, root: Path = SOURCE_ROOT) -> str:
    """``ml_on_aws.core.config`` for ``<root>/ml_on_aws/core/config.py`` (a package: its folder)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str | None = None) -> list[str]:
    """The names ``path`` imports, relative imports resolved. ``from ml_on_aws.x import y`` gives
    ``ml_on_aws.x.y`` (``y`` may be a module or a name in ``x``); other packages give the module."""
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            inside = base == PACKAGE or base.startswith(PACKAGE + ".")
            found += [f"{base}.{alias.name}" for alias in node.names] if inside else [base]
    return found


def source_of(name: str, root: Path = SOURCE_ROOT) -> Path | None:
    """The file of module ``name`` under ``root``, or None when ``name`` is not a module there
    (e.g. a function: ``ml_on_aws.core.config.parse``)."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_closure(start: str, root: Path = SOURCE_ROOT) -> list[Path]:
    """The project's source files ``start`` needs: its module, every project module it imports,
    transitively, and the ``__init__.py`` of every package on the way, sorted."""
    files: set[Path] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        path = source_of(name, root)
        if path is None:
            path = source_of(name.rpartition(".")[0], root)  # ``from module import name``
        if path is None or path in files:
            continue
        files.add(path)
        module = module_name(path, root)
        parent = module.rpartition(".")[0]
        pending += [parent] if parent else []  # its package's __init__.py
        pending += [n for n in imports_of(path, module) if n.split(".")[0] == PACKAGE]
    return sorted(files)
