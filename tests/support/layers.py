"""The architecture as rules: which module may import what, print, or read the clock.

`tests/meta/test_layers.py` runs :func:`violations` over the package; CI fails on any line it
returns. The rules read the source with `ast`, so they see every import, lazy ones too, without
importing anything. Each rule is a list of module names with its reason: a new module that needs
an exception is added here, by name, with why.

Out of reach: imports by name at run time (``importlib.import_module``), and what a library does
inside (``schedule`` reads the clock, which is why importing it counts as reading it).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "exception_bot"
# The pure core: decisions from values, no I/O, no clock, no environment, no `gitlab`.
CORE = "exception_bot.domain"
# The stand-in GitLab: a program of its own, with its own clock, which tests move.
SANDBOX = "exception_bot.sandbox"

# The GitLab adapter: the only modules that import python-gitlab (a package named here covers
# its modules).
GITLAB_ADAPTER = ("exception_bot.gitlab",)

# The command lines: the only modules that print, write to stdout or stderr, or use Typer.
CLI = ("exception_bot.cli", "exception_bot.sandbox.cli")

# Who may read a clock, and why. The bot's decisions take `now` from the CLI, which reads the
# wall clock once a run; the rest only measures time that passes, to wait the right amount.
CLOCK_READERS: Mapping[str, str] = {
    "exception_bot.cli": "reads `now` once a run (or takes --now) and hands it to the rest",
    "exception_bot.daemon": "the daemon command's loop: `schedule` starts each job by the clock",
    "exception_bot.pacing": "a monotonic clock spaces requests and notes under GitLab's limits",
    "exception_bot.connection": "a monotonic clock bounds the wait for GitLab (--retry-for)",
    "exception_bot.run_lock": "a monotonic clock renews the lock's lease and bounds its wait",
    "exception_bot.progress": "a monotonic clock says a progress line every 30 seconds",
    "exception_bot.demo_webhooks": "`demo --webhooks` waits for the sandbox's deliveries and "
    "the service's runs to settle",
    "exception_bot.service": "`serve`: a monotonic clock times each webhook's wait (reaction "
    "latency), the age of the last full pass (health) and the wait before a retry",
    "exception_bot.gitlab.session": "GitLab's RateLimit-Reset header is an epoch time",
    SANDBOX: "the sandbox stands in for GitLab and keeps its own clock",
}

# Modules that join the bot and the sandbox, and so import both: loaded only by the CLI, lazily
# (or by another of them), so that neither side loads the other for any other command.
BRIDGES: Mapping[str, str] = {
    "exception_bot.demo": "`exception-bot demo` runs the bot against a sandbox it starts",
    "exception_bot.demo_webhooks": "`exception-bot demo --webhooks` feeds `serve`'s service "
    "the sandbox's webhooks",
    "exception_bot.demo_summary": "the demo's and `sandbox serve`'s account of the sandbox's "
    "people and requests, read from its store with the bot's config and record",
    "exception_bot.sandbox.cli": "`exception-bot sandbox serve` (the CLI loads it by name when "
    "the command runs) names each sandbox user's role under the bot's config",
}

# What the core may import besides itself and the pure part of the standard library.
CORE_LIBRARIES: Mapping[str, str] = {
    "markdown_it": "parses CommonMark text in memory",
}
# A library one core module alone may import.
CORE_LIBRARY_EXCEPTIONS: Mapping[tuple[str, str], str] = {
    ("exception_bot.domain.register", "yaml"): (
        "a register file's front matter is YAML: safe_load and dump of text, never of a file"
    ),
}
# The standard library the core may not import: files, processes, network, environment, clock,
# threads, logging (the shell logs what the core returns) and chance. A package named here
# covers its modules (urllib.request, not urllib.parse).
CORE_FORBIDDEN_STDLIB = (
    "asyncio",
    "glob",
    "http.client",
    "http.cookiejar",
    "http.server",
    "importlib",
    "logging",
    "multiprocessing",
    "os",
    "pathlib",
    "random",
    "secrets",
    "shutil",
    "signal",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "sys",
    "tempfile",
    "threading",
    "time",
    "urllib.request",
    "uuid",
)
# Built-ins that do I/O.
IO_BUILTINS = frozenset({"open", "input", "breakpoint"})  # print: every module's rule
# Names that read the clock: datetime.now(), date.today(), time.time() ... and libraries that
# do it for their caller.
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})
CLOCK_CLASSES = frozenset({"datetime", "date"})
CLOCK_FUNCTIONS = frozenset(
    {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "localtime",
        "gmtime",
        "ctime",
    }
)
CLOCK_LIBRARIES = frozenset({"schedule"})
PRINTING_LIBRARIES = frozenset({"typer", "click", "rich"})
STREAMS = frozenset({"stdout", "stderr", "__stdout__", "__stderr__"})


@dataclass(frozen=True)
class Source:
    name: str  # exception_bot.domain.model
    path: Path
    tree: ast.Module


@dataclass(frozen=True)
class Import:
    target: str  # the module, or module.name for `from module import name`
    line: int
    lazy: bool  # inside a function: loaded when called, not when the module is


def sources(root: Path) -> list[Source]:
    """Every module of the package under ``root`` (the folder that holds ``exception_bot``)."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append(Source(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


def violations(root: Path) -> list[str]:
    """One ``path:line: what is wrong; what to do`` line per broken rule, in file order."""
    found: list[str] = []
    for source in sources(root):
        where = source.path.relative_to(root)
        for line, problem in sorted(_problems(source)):
            found.append(f"{where}:{line}: {problem}")
    return found


def within(name: str, prefixes: Iterable[str]) -> bool:
    """Whether module ``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def _problems(source: Source) -> Iterator[tuple[int, str]]:
    for imported in imports(source):
        yield from _import_problems(source.name, imported)
    for line, what in clock_reads(source.tree):
        if not within(source.name, CLOCK_READERS):
            yield line, f"{source.name} reads the clock ({what}); take `now` as an argument"
    for line, what in printing(source.tree):
        if not within(source.name, CLI):
            yield line, f"{source.name} prints ({what}); return text and let the CLI print it"
    if within(source.name, (CORE,)):
        for line, what in io_calls(source.tree):
            yield line, f"the core calls {what}(); the shell does I/O and passes values in"


def _import_problems(module: str, imported: Import) -> Iterator[tuple[int, str]]:
    target, line = imported.target, imported.line
    top = target.split(".")[0]
    if within(module, (CORE,)):
        problem = _core_import(module, target)
        if problem:
            yield line, problem
    if top == "gitlab" and not within(module, GITLAB_ADAPTER):
        yield line, f"{module} imports {target}; only the GitLab adapter imports `gitlab`"
    if top in CLOCK_LIBRARIES and not within(module, CLOCK_READERS):
        yield line, f"{module} imports {top}, which reads the clock; only the CLI may"
    if top in PRINTING_LIBRARIES and not within(module, CLI):
        yield line, f"{module} imports {top}, which prints; only the CLI may"
    yield from ((line, p) for p in _sandbox_problems(module, imported))


def _core_import(module: str, target: str) -> str | None:
    top = target.split(".")[0]
    if top == PACKAGE:
        if within(target, (CORE,)):
            return None
        return f"the core imports {target}; the core imports nothing from the shell"
    if top in sys.stdlib_module_names:
        if not within(target, CORE_FORBIDDEN_STDLIB):
            return None
        return f"the core imports {target}, which does I/O or reads the clock or environment"
    if top in CORE_LIBRARIES or (module, top) in CORE_LIBRARY_EXCEPTIONS:
        return None
    return (
        f"the core imports {top}; it imports only the standard library's pure modules and "
        f"{', '.join(CORE_LIBRARIES)}: do this in the shell and pass the result in"
    )


def _sandbox_problems(module: str, imported: Import) -> Iterator[str]:
    target = imported.target
    if not within(target, (PACKAGE,)):
        return
    if within(target, BRIDGES) and not within(module, BRIDGES):
        if not within(module, CLI):
            yield f"{module} imports {target}; only the CLI loads it"
        elif not imported.lazy:
            yield f"{module} imports {target} at load time; import it inside the command"
    elif within(module, BRIDGES):
        return  # a bridge imports both sides; where it is imported is checked above
    elif within(module, (SANDBOX,)) and not within(target, (SANDBOX,)):
        yield f"the sandbox imports {target}; it knows nothing of the bot"
    elif within(target, (SANDBOX,)) and not within(module, (SANDBOX,)):
        lazily_by_the_cli = within(module, CLI) and imported.lazy
        if not lazily_by_the_cli:
            yield f"{module} imports the sandbox ({target}); only the CLI does, inside a function"


def imports(source: Source) -> Iterator[Import]:
    """Every module the module imports: ``from a.b import c`` as ``a.b``, but ``from
    exception_bot import config`` as ``exception_bot.config``, whose names are modules."""
    package = source.name if source.path.name == "__init__.py" else source.name.rpartition(".")[0]
    for node, lazy in _walk(source.tree, lazy=False):
        if isinstance(node, ast.Import):
            yield from (Import(alias.name, node.lineno, lazy) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base != PACKAGE:
                yield Import(base, node.lineno, lazy)
                continue
            yield from (Import(f"{base}.{alias.name}", node.lineno, lazy) for alias in node.names)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _walk(node: ast.AST, lazy: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        yield child, lazy
        inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _walk(child, inner)


def clock_reads(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``datetime.now``, ``date.today``, ``time.monotonic`` ..., called or passed on."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = _dotted(node.value)
            last = owner.rpartition(".")[2]
            if node.attr in CLOCK_METHODS and last in CLOCK_CLASSES:
                yield node.lineno, f"{owner}.{node.attr}"
            elif node.attr in CLOCK_FUNCTIONS and owner == "time":
                yield node.lineno, f"time.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if alias.name in CLOCK_FUNCTIONS:
                    yield node.lineno, f"time.{alias.name}"


def printing(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``print()`` and any use of ``sys.stdout`` or ``sys.stderr``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "print":
                yield node.lineno, "print"
        elif isinstance(node, ast.Attribute) and node.attr in STREAMS:
            if _dotted(node.value) == "sys":
                yield node.lineno, f"sys.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            for alias in node.names:
                if alias.name in STREAMS:
                    yield node.lineno, f"sys.{alias.name}"


def io_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Calls of the built-ins that do I/O (``open`` and the like)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id in IO_BUILTINS:
            yield node.lineno, node.func.id


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
