"""The documentation says what the code does: the generated reference pages are current, every
config key the loader accepts is documented, every command and exit code is in the reference,
and the README's links lead somewhere."""

from __future__ import annotations

import copy
import importlib.util
import re
from types import ModuleType

import pytest
import typer.main

from exception_bot import errors
from exception_bot.cli import app
from exception_bot.config import parse_config
from exception_bot.config_keys import CONFIG_KEYS
from tests.requests import ROOT
from tests.support.config_data import default_data

DOCS = ROOT / "docs"
PROBE = "zz_probe"
# Sections of fixed keys; roles.<role> is probed on one role of the default config.
SECTIONS = (
    "gitlab",
    "limits",
    "calendar",
    "register",
    "approvals",
    "labels",
    "review_sla",
    "escalation",
    "appeal",
    "reminders",
    "approval_matrix",
    "webhooks",
    "risk_assessment",
)
# Keys named freely by the config itself, which the loader checks against the roles.
FREE_KEYS = frozenset({"checklist.<role>"})


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_reference_pages_are_current() -> None:
    stale = generator().stale()
    assert not stale, f"stale pages {stale}: run .venv/bin/python docs/generate.py"


def known_keys(path: tuple[str, ...]) -> list[str]:
    """The keys the config loader accepts at ``path``, as its error for an unknown one says."""
    data = copy.deepcopy(default_data())
    section = data
    for key in path:
        if not isinstance(section.get(key), dict):  # appeal may be a list: probe its mapping
            section[key] = {}
        section = section[key]
    section[PROBE] = 1
    with pytest.raises(errors.ConfigError) as raised:
        parse_config(data)
    where = ".".join((*path, PROBE))
    for line in raised.value.problems:
        found = re.fullmatch(rf"{re.escape(where)}: unknown key \(known: (.*)\)", line)
        if found:
            return found.group(1).split(", ")
    raise AssertionError(f"no unknown-key error for {where}: {raised.value.problems}")


def accepted_keys() -> set[str]:
    keys = set(known_keys(()))
    for section in SECTIONS:
        keys |= {f"{section}.{key}" for key in known_keys((section,))}
    role = next(iter(default_data()["roles"]))
    keys |= {f"roles.<role>.{key}" for key in known_keys(("roles", role))}
    return {re.sub(r"\.(critical|high|medium|low)$", ".<risk>", key) for key in keys}


def test_every_config_key_is_in_the_reference_and_no_other() -> None:
    documented = {key.key for key in CONFIG_KEYS}
    sections = {key.split(".")[0] for key in documented}  # a section is its keys' heading
    accepted = accepted_keys()
    assert accepted - documented - sections == set(), "add them to exception_bot/config_keys.py"
    assert documented - accepted == FREE_KEYS


def test_the_usage_page_mentions_every_command() -> None:
    usage = (DOCS / "reference" / "usage.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    for name, command in getattr(group, "commands", {}).items():
        subs = getattr(command, "commands", None)
        for full in [f"{name} {s}" for s in subs] if subs else [name]:
            assert f"exception-bot {full}" in usage, f"usage.md does not mention `{full}`"


def test_the_usage_page_lists_every_exit_code() -> None:
    usage = (DOCS / "reference" / "usage.md").read_text(encoding="utf-8")
    table = usage.split("## Exit codes\n\n", 1)[1].split("\n\n")[1]
    documented = [int(row.split("|")[1]) for row in table.splitlines()[2:]]
    codes = sorted(value for name, value in vars(errors).items() if name.startswith("EXIT_"))
    assert documented == codes


def test_the_readme_links_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert local, "the README links to the docs"
    for target in local:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_every_page_is_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    missing = [page for page in pages if f": {page}\n" not in nav]
    assert not missing, f"add them to mkdocs.yml's nav: {missing}"


def test_every_page_the_code_cites_exists() -> None:
    """Comments cite the docs page that explains a rule: the page must be there."""
    cited: dict[str, str] = {}
    for folder in ("exception_bot", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for page in re.findall(r"docs/[\w/-]+\.md", path.read_text(encoding="utf-8")):
                cited.setdefault(page, str(path.relative_to(ROOT)))
    assert cited, "the code cites its docs"
    missing = {page: where for page, where in cited.items() if not (ROOT / page).exists()}
    assert not missing, f"cited pages that do not exist (page: first citer): {missing}"
