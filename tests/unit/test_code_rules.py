"""Code rules: module size, function length, a pure core and a lean Lambda runtime.

The modules are discovered from the filesystem (only the folder names are fixed here), so the rules
keep holding while files move. Sizes and lengths are read from the source with ``ast``; the import
rules import each module in its own fresh interpreter (``python -X importtime -c ...``) so that one
module's imports cannot hide another's, and the import log names the chain that loaded a forbidden
module. Nothing here talks to AWS, and no bytecode is written.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"
PACKAGE = SDK / "pushpool"
FUNCTIONS = REPO / "functions"
INFRA = REPO / "infra"
INFRA_COMPONENTS = INFRA / "pushpool_infra"
MOTO_PATCHES = PACKAGE / "dev" / "moto_patches.py"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

SKIPPED_DIRS = {"__pycache__", "venv", "node_modules", "build"}

HEAVY = ("boto3", "botocore", "typer", "rich", "pulumi", "pulumi_aws", "moto")
# adapters and what sits above them: never loaded by a pure module
ADAPTERS_AND_ABOVE = (
    "pushpool.aws",
    "pushpool.cli",
    "pushpool.dev",
    "pushpool.runtime",
    "pushpool.provision",
    "pushpool.client",
    "pushpool.flows",
)
# the core is the bottom layer: it does not even load the layers built on it
ABOVE_CORE = (
    *ADAPTERS_AND_ABOVE,
    "pushpool.dispatch",
    "pushpool.services",
    "pushpool.pooltypes",
    "pushpool.worker",
)
NOT_IN_LAMBDA = (
    "docker",
    "pushpool.worker",
    "typer",
    "rich",
    "pulumi",
    "pulumi_aws",
    "moto",
    "docker",
    "pushpool.cli",
    "pushpool.dev",
    "pushpool.provision",
)
# the runner writes nothing to AWS (its task role has no table permission): no DynamoDB store
NOT_IN_RUNNER = (
    "typer",
    "rich",
    "pulumi",
    "moto",
    "docker",
    "pushpool.cli",
    "pushpool.aws.dynamodb",
)


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def python_files(*roots: Path) -> list[Path]:
    """Every ``*.py`` under the roots, skipping caches, virtualenvs and hidden folders."""
    found = []
    for root in roots:
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).parts[:-1]
            if any(p in SKIPPED_DIRS or p.startswith(".") for p in parts):
                continue
            found.append(path)
    return sorted(found)


SOURCES = python_files(SDK, FUNCTIONS, INFRA)


# --- 1. module size ----------------------------------------------------------------------------


def test_sources_are_discovered() -> None:
    assert PACKAGE.is_dir() and FUNCTIONS.is_dir() and INFRA.is_dir()
    assert len(SOURCES) > 10, [rel(p) for p in SOURCES]


def test_modules_are_at_most_400_lines() -> None:
    sizes = {rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in SOURCES}
    offenders = sorted(
        ((n, path) for path, n in sizes.items() if n > MAX_MODULE_LINES), reverse=True
    )
    assert not offenders, (
        f"{len(offenders)} module(s) over {MAX_MODULE_LINES} lines:\n"
        + "\n".join(f"  {path}: {n} lines" for n, path in offenders)
    )


# --- 2. function length ------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    path: str
    name: str
    lines: int


def _base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.add(base.id)
        elif isinstance(base, ast.Attribute):
            names.add(base.attr)
    return names


def _component_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """``ComponentResource`` and the names of the classes in infra/pushpool_infra/ subclassing it.

    Directly (``class State(pulumi.ComponentResource)``) or through another such class there.
    """
    classes = [
        node
        for path, tree in trees.items()
        if path.is_relative_to(INFRA_COMPONENTS)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    components = {"ComponentResource"}
    grew = True
    while grew:
        grew = False
        for node in classes:
            if node.name not in components and _base_names(node) & components:
                components.add(node.name)
                grew = True
    return components


def _functions(
    path: Path, node: ast.AST, prefix: str, components: set[str], in_infra: bool
) -> Iterator[Function]:
    """Every function below ``node`` except those inside an infra component class.

    A function's length counts from its first decorator (or ``def``) to its last line.
    """
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            if in_infra and _base_names(child) & components:
                continue
            yield from _functions(path, child, f"{prefix}{child.name}.", components, in_infra)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([d.lineno for d in child.decorator_list] + [child.lineno])
            assert child.end_lineno is not None
            yield Function(rel(path), prefix + child.name, child.end_lineno - start + 1)
            yield from _functions(path, child, f"{prefix}{child.name}.", components, in_infra)
        else:
            yield from _functions(path, child, prefix, components, in_infra)


def all_functions(paths: Iterable[Path]) -> list[Function]:
    trees = {p: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for p in paths}
    components = _component_classes(trees)
    found = []
    for path, tree in trees.items():
        if path == MOTO_PATCHES:
            continue
        found += _functions(path, tree, "", components, path.is_relative_to(INFRA_COMPONENTS))
    return found


def test_functions_are_at_most_60_lines() -> None:
    """Decorators included; infra components' methods and the moto patches are exempt."""
    functions = all_functions(SOURCES)
    assert functions, "no function found"
    offenders = sorted(
        (f for f in functions if f.lines > MAX_FUNCTION_LINES), key=lambda f: (-f.lines, f.path)
    )
    assert not offenders, (
        f"{len(offenders)} function(s) over {MAX_FUNCTION_LINES} lines (decorators included):\n"
        + "\n".join(f"  {f.path}:{f.name} ({f.lines} lines)" for f in offenders)
    )


# --- 3./4. imports in a fresh interpreter ------------------------------------------------------

# ``__import__``, not ``importlib.import_module``: only the former is logged by ``-X importtime``.
IMPORT_ONE = """
import json, sys
__import__(sys.argv[1])
module = sys.modules[sys.argv[1]]
print(json.dumps({"file": getattr(module, "__file__", None), "modules": sorted(sys.modules)}))
"""


@dataclass(frozen=True)
class Imports:
    module: str
    modules: frozenset[str]
    log: tuple[tuple[int, str], ...]  # (depth, name) in ``-X importtime`` order: children first

    def chain(self, name: str) -> str:
        """``a -> b -> name``: the imports that first loaded ``name``."""
        index = next((i for i, (_, n) in enumerate(self.log) if n == name), None)
        if index is None:
            return f"{name} (not in the import log)"
        depth, links = self.log[index][0], [name]
        for d, n in self.log[index + 1 :]:
            if d < depth:
                depth, links = d, [n, *links]
        return " -> ".join(links)

    def forbidden(self, rules: Iterable[str]) -> list[str]:
        """One line per broken rule: the outermost loaded module it matches and its chain."""
        problems, depth = [], {n: d for d, n in self.log}
        for rule in rules:
            bad = {m for m in self.modules if m == rule or m.startswith(rule + ".")}
            if not bad:
                continue
            first = min(bad, key=lambda m: (depth.get(m, 1 << 30), m.count("."), m))
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            problems.append(f"  {rule}{more}: {self.chain(first)}")
        return problems


def _parse_importtime(stderr: str) -> tuple[tuple[int, str], ...]:
    log = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.rstrip().endswith("imported package"):
            continue
        field = line.split("|", 2)[2][1:]  # one separator space, then two spaces per level
        log.append(((len(field) - len(field.lstrip(" "))) // 2, field.strip()))
    return tuple(log)


def import_fresh(module: str, path: Iterable[Path], env: dict[str, str] | None = None) -> Imports:
    """Import ``module`` alone in a new interpreter whose path is ``path`` (then site-packages)."""
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT_ONE, module],
        capture_output=True,
        text=True,
        env=environ,
        cwd=SDK,
        timeout=120,
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
        pytest.fail(f"importing {module} failed:\n" + "\n".join(errors[-30:]))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    loaded_from = Path(result["file"]).resolve()
    assert any(loaded_from.is_relative_to(p) for p in path), (
        f"{module} was imported from {loaded_from}, not from this checkout"
    )
    return Imports(module, frozenset(result["modules"]), _parse_importtime(done.stderr))


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def pure_modules() -> list[tuple[str, bool]]:
    """(module, is core) for the core and the layers over its ports: dispatch, services and the
    pool types (whose adapters are injected, or imported only when a factory builds them)."""
    files = [(p, True) for p in python_files(PACKAGE / "core")]
    for package in ("dispatch", "services", "pooltypes"):
        files += [(p, False) for p in python_files(PACKAGE / package)]
    return [(module_name(p, SDK), core) for p, core in files]


PURE = pure_modules()
AWS_ENV = (("AWS_DEFAULT_REGION", "us-east-1"),)
LAMBDA_HANDLERS = ["pushpool.runtime.handlers.dispatcher", "pushpool.runtime.handlers.task_events"]
LAMBDA_ENTRY_POINTS = [module_name(p, FUNCTIONS) for p in python_files(FUNCTIONS)]


@dataclass(frozen=True)
class Check:
    """Import ``module`` alone, with ``path`` first on sys.path, and none of ``forbidden`` loads."""

    module: str
    path: tuple[Path, ...]
    forbidden: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


PURE_CHECKS = [
    Check(m, (SDK,), HEAVY + (ABOVE_CORE if core else ADAPTERS_AND_ABOVE)) for m, core in PURE
]
LAMBDA_CHECKS = [
    Check(m, (SDK, FUNCTIONS), NOT_IN_LAMBDA, AWS_ENV)
    for m in LAMBDA_HANDLERS + LAMBDA_ENTRY_POINTS
]
RUNNER_CHECK = Check("pushpool.runtime.runner", (SDK,), NOT_IN_RUNNER, AWS_ENV)
# the workers sit under the emulator and the CLI: they use the adapters, never what is built on them
NOT_IN_WORKER = (
    "typer",
    "rich",
    "pulumi",
    "moto",
    "pushpool.cli",
    "pushpool.dev",
    "pushpool.provision",
)
WORKER_CHECKS = [
    Check(module_name(p, SDK), (SDK,), NOT_IN_WORKER, AWS_ENV)
    for p in python_files(PACKAGE / "worker")
]


def _check_of(item: pytest.Item) -> Check | None:
    callspec = getattr(item, "callspec", None)
    check = callspec.params.get("check") if callspec else None
    return check if isinstance(check, Check) else None


@pytest.fixture(scope="module")
def interpreters(request: pytest.FixtureRequest) -> Iterator[dict[Check, Future[Imports]]]:
    """One fresh interpreter per selected check, all started at once; each test waits for its own."""
    selected = {check for item in request.session.items if (check := _check_of(item))}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield {c: pool.submit(import_fresh, c.module, c.path, dict(c.env)) for c in selected}


def assert_lean(check: Check, interpreters: dict[Check, Future[Imports]]) -> None:
    problems = interpreters[check].result().forbidden(check.forbidden)
    assert not problems, f"importing {check.module} loaded forbidden modules:\n" + "\n".join(
        problems
    )


def test_core_modules_are_discovered() -> None:
    assert [m for m, core in PURE if core], "no module found under sdk/pushpool/core/"


@pytest.mark.parametrize("check", PURE_CHECKS, ids=[c.module for c in PURE_CHECKS])
def test_pure_module_imports_nothing_heavy(
    check: Check, interpreters: dict[Check, Future[Imports]]
) -> None:
    """No AWS SDK, CLI, console, Pulumi or moto; the core imports no adapter nor anything above."""
    assert_lean(check, interpreters)


@pytest.mark.parametrize(
    "check",
    LAMBDA_CHECKS,
    ids=[c.module if "." in c.module else f"functions/{c.module}.py" for c in LAMBDA_CHECKS],
)
def test_lambda_runtime_is_lean(check: Check, interpreters: dict[Check, Future[Imports]]) -> None:
    """A Lambda cold start loads neither the CLI, the console, Pulumi, moto nor the emulator."""
    assert_lean(check, interpreters)


@pytest.mark.parametrize("check", [RUNNER_CHECK], ids=[RUNNER_CHECK.module])
def test_runner_is_lean(check: Check, interpreters: dict[Check, Future[Imports]]) -> None:
    """The container runner loads neither the CLI, the console, Pulumi, moto nor the store."""
    assert_lean(check, interpreters)


@pytest.mark.parametrize("check", WORKER_CHECKS, ids=[c.module for c in WORKER_CHECKS])
def test_workers_load_nothing_above_them(
    check: Check, interpreters: dict[Check, Future[Imports]]
) -> None:
    """A worker loads neither the emulator, the CLI, the console, Pulumi nor moto."""
    assert_lean(check, interpreters)
