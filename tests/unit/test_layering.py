"""The hexagon's dependency rule, checked on the source: inner layers never import outer ones."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

FRAMEWORKS = frozenset(
    {
        "sqlalchemy",
        "litestar",
        "ccxt",
        "alembic",
        "msgspec",
        "redis",
        "asyncpg",
        "aiosqlite",
        "argon2",
        "jwt",
        "cryptography",
        "limits",
        "dependency_injector",
        "httpx",
        "uvicorn",
    }
)
DOMAIN_FORBIDDEN = frozenset({"application", "adapters", "entrypoints"}) | FRAMEWORKS
APPLICATION_FORBIDDEN = frozenset({"adapters", "entrypoints", "sqlalchemy", "litestar", "ccxt"})
DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__"})


def _imported_modules(path: Path, src: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, nested ones included."""
    # The package a relative import starts from (the same for a module and an __init__).
    package = list(path.relative_to(src).parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in DYNAMIC_IMPORTERS)
                or (isinstance(node.func, ast.Attribute) and node.func.attr in DYNAMIC_IMPORTERS)
            )
        ):
            yield node.lineno, node.args[0].value


def _violations(layer: str, forbidden: frozenset[str], src: Path = SRC) -> list[str]:
    files = sorted((src / layer).rglob("*.py"))
    assert files, f"no Python files found under {src / layer}"
    return [
        f"{path.relative_to(src.parent)}:{line}: imports {module}"
        for path in files
        for line, module in sorted(_imported_modules(path, src))
        if module.split(".")[0] in forbidden
    ]


def test_domain_imports_nothing_from_outer_layers_or_frameworks() -> None:
    offending = _violations("domain", DOMAIN_FORBIDDEN)

    assert not offending, "the domain must stay pure:\n" + "\n".join(offending)


def test_application_imports_no_adapters_entrypoints_or_infrastructure_frameworks() -> None:
    offending = _violations("application", APPLICATION_FORBIDDEN)

    assert not offending, "the application layer depends on ports only:\n" + "\n".join(offending)


def test_the_import_scanner_sees_nested_relative_and_dynamic_imports(tmp_path: Path) -> None:
    # A self-check on a throwaway tree shaped like src/domain, so a scanner bug cannot
    # make the two tests above pass vacuously.
    package = tmp_path / "src" / "domain" / "users"
    package.mkdir(parents=True)
    (package / "sneaky.py").write_text(
        "import os\n"
        "from ...adapters import x\n"
        "def f():\n"
        "    import sqlalchemy.orm\n"
        "    from jwt import decode\n"
        "    importlib.import_module('litestar')\n"
        "from . import email\n"
        "from ..ports import clock\n"
    )

    offending = _violations("domain", DOMAIN_FORBIDDEN, src=tmp_path / "src")

    assert offending == [
        "src/domain/users/sneaky.py:2: imports adapters",
        "src/domain/users/sneaky.py:4: imports sqlalchemy.orm",
        "src/domain/users/sneaky.py:5: imports jwt",
        "src/domain/users/sneaky.py:6: imports litestar",
    ]
