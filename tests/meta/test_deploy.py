"""The deployment examples hold together (issue 24, point 5): Docker is not installed where the
tests run, so instead of building, the Dockerfile, deploy/docker-compose.yml, deploy/Caddyfile
and deploy/exception-bot.service are read for the essentials: a non-root user, a health check
on a route the service has, and commands and options the CLI has."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any, cast

import click
import typer
import yaml

from exception_bot.cli import app
from exception_bot.config import CONFIG_ENV_VAR
from exception_bot.domain.settings import WEBHOOK_SECRET_ENV
from exception_bot.service.app import create_app
from tests.requests import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    found = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(words[0].upper(), words[1] if len(words) > 1 else "") for words in found]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE)
    last = max(i for i, (kind, _) in enumerate(steps) if kind == "FROM")
    return steps[last:]


def one(steps: list[tuple[str, str]], kind: str) -> str:
    (found,) = [args for k, args in steps if k == kind]
    return found


def check_command(words: list[str]) -> click.Command:
    """``words`` (a command and its options) name a command of the CLI and options it has."""
    group = cast(click.Group, typer.main.get_command(app))
    command = group.commands.get(words[0])
    assert command is not None, f"exception-bot has no command {words[0]!r}"
    options = {opt for param in command.params for opt in param.opts}
    for word in words[1:]:
        if word.startswith("-"):
            assert word.split("=")[0] in options, f"{words[0]} has no option {word}"
    return command


def service_routes() -> set[str]:
    # the routes only: their handlers, which would need the queue and the config, never run
    made = create_app(cast(Any, None), cast(Any, None), "/hooks")
    return {str(getattr(route, "path", "")) for route in made.routes}


def default_port() -> int:
    serve = check_command(["serve"])
    (port,) = [p for p in serve.params if "--port" in p.opts]
    return int(cast(Any, port.default))


def test_the_image_is_slim_runs_as_a_user_and_starts_serve() -> None:
    froms = [args for kind, args in instructions(DOCKERFILE) if kind == "FROM"]
    assert all(f.split()[0] == "python:3.11-slim" for f in froms), froms
    final = final_stage()
    user = one(final, "USER")
    assert user not in ("root", "0", "0:0")
    assert re.search(rf"useradd .*--uid (\d+) .*{user}", one(final, "RUN"))
    assert json.loads(one(final, "ENTRYPOINT")) == ["exception-bot"]
    command = json.loads(one(final, "CMD"))
    assert command[:3] == ["serve", "--host", "0.0.0.0"]  # noqa: S104 - in a container
    check_command(command)


def test_the_image_installs_the_checkout_it_copies() -> None:
    copies = [args.split() for kind, args in instructions(DOCKERFILE) if kind == "COPY"]
    sources = [s for words in copies if not words[0].startswith("--from") for s in words[:-1]]
    assert {"pyproject.toml", "README.md", "config", "exception_bot"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    for source in sources:
        assert f"!{source}" in ignored, f".dockerignore leaves out {source}"
    assert "pip wheel" in " ".join(args for kind, args in instructions(DOCKERFILE))


def test_the_health_check_asks_the_route_the_service_has() -> None:
    check = one(final_stage(), "HEALTHCHECK")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    assert url is not None, check
    assert url.group(2) in service_routes()
    assert "/healthz" in service_routes()
    assert int(url.group(1)) == default_port()  # the CMD keeps serve's default port


def test_compose_runs_the_image_as_its_user_behind_caddy() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == DOCKERFILE
    uid = re.search(r"--uid (\d+)", one(final_stage(), "RUN"))
    assert uid is not None
    assert bot["user"].split(":")[0] == uid.group(1)
    assert bot["read_only"] is True
    assert "no-new-privileges:true" in bot["security_opt"]
    command = bot["command"]
    check_command(command)
    port = command[command.index("--port") + 1]
    assert "ports" not in bot  # only Caddy is reachable from outside
    for volume in bot["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("."):
            assert (DEPLOY / source).exists(), source
    assert bot["environment"][CONFIG_ENV_VAR].startswith("/etc/exception-bot/")
    assert WEBHOOK_SECRET_ENV in (DEPLOY / "env.example").read_text(encoding="utf-8")
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert f"reverse_proxy bot:{port}" in caddy
    handled = re.findall(r"handle (/\S+)", caddy)
    assert handled
    assert all(path not in ("/healthz", "/metrics") for path in handled)


def test_the_systemd_unit_is_hardened_and_starts_serve() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "exception-bot.service", encoding="utf-8")
    service = unit["Service"]
    words = shlex.split(service["ExecStart"])
    assert words[0].endswith("/exception-bot")
    check_command(words[1:])
    assert words[words.index("--host") + 1] == "127.0.0.1"  # behind a TLS proxy
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root")
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service.get(key) == value, key
    assert service["Environment"] == f"{CONFIG_ENV_VAR}=/etc/exception-bot/exception-bot.yml"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_tls_proxies_pass_any_delivery_gitlab_may_send() -> None:
    """GitLab sends payloads up to 25 MB (Gitlab::Json::LimitedEncoder), and any requester can
    make one that large by editing a description: a proxy that answers 413 for it has GitLab
    count a failure (four in a row stop the hook; forty disable it on GitLab.com). The proxy
    passes it and serve answers 202 too_large without reading it."""
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    how_to = (ROOT / "docs" / "how-to" / "webhooks.md").read_text(encoding="utf-8")
    sizes = re.findall(r"max_size (\d+)MB", caddy + how_to)
    sizes += re.findall(r"client_max_body_size (\d+)m;", how_to)
    assert len(sizes) == 3, sizes
    assert all(int(size) >= 25 for size in sizes), sizes
