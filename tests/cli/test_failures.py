"""Every way GitLab can fail a command ends it in one line naming the cause and the fix, fast,
with the exit code of its class (docs/reference/usage.md, "Exit codes"). The real console
script, against closed loopback ports, a plain-HTTP server spoken to in TLS, a resolver that
knows no host, and the sandbox with a wrong token."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exception_bot import errors
from exception_bot.sandbox import Sandbox
from tests.support.console import CONFIG, ROOT, SCRIPT, Ran, clean_env, console, consoles

UNREACHABLE, TOKEN_REFUSED = errors.EXIT_UNREACHABLE, errors.EXIT_TOKEN_REFUSED
USAGE = errors.EXIT_USAGE
# Each test runs the console script in a process of its own, against a GitLab address.
pytestmark = pytest.mark.e2e
# Commands that talk to GitLab, as a script would call them.
TALKERS = [
    ["run"],
    ["check-config", "--online"],
    ["setup"],
    ["register", "export"],
    ["report"],
    ["mr-check", "--project", "security/exception-register", "--mr", "1"],
    ["register", "verify"],
]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gitlab(url: str, token: str = "glpat-anything") -> dict[str, str]:  # noqa: S107
    return {"GITLAB_URL": url, "GITLAB_TOKEN": token}


def one_error(ran: Ran) -> str:
    """The one line the failure is: no traceback, nothing else said but retry notes."""
    assert "Traceback" not in ran.err, ran.err
    assert len(ran.errors) == 1, ran.err
    others = [line for line in ran.err.splitlines() if not line.startswith(("error:", "note:"))]
    assert others == [], ran.err
    return ran.errors[0]


def test_an_unreachable_gitlab_is_retried_aloud_then_given_up_in_one_line(
    closed_port: int,
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    ran = console("run", "--config", str(CONFIG), "--retry-for", "2", env=gitlab(url))
    assert ran.code == UNREACHABLE
    assert one_error(ran) == (
        f"error: GitLab at {url} did not answer (Connection refused) for 2 s: check GITLAB_URL "
        "and that GitLab is up (--retry-for SECONDS waits longer)"
    )
    notes = [line for line in ran.err.splitlines() if line.startswith("note:")]
    assert notes[0] == (
        f"note: GitLab at {url} did not answer (Connection refused): trying again in 1 s "
        "(giving up after 2 s)"
    )
    assert ran.seconds < 15  # python-gitlab alone kept silent for 102 s


def test_every_command_that_talks_to_gitlab_says_it_is_unreachable(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    commands = [[*command, "--config", str(CONFIG), "--retry-for", "0"] for command in TALKERS]
    for command, ran in zip(commands, consoles(commands, gitlab(url)), strict=True):
        assert ran.code == UNREACHABLE, (command, ran.err)
        expected = f"error: GitLab at {url} did not answer (Connection refused)"
        assert one_error(ran).startswith(expected), command


def test_the_retry_time_comes_from_the_environment_too(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    env = {**gitlab(url), "EXCEPTION_BOT_RETRY_FOR": "0"}
    ran = console("check-config", "--online", "--config", str(CONFIG), env=env)
    assert (ran.code, "note:" in ran.err) == (UNREACHABLE, False)


def test_tls_to_a_server_that_speaks_none_is_one_line_at_once(sandbox: Sandbox) -> None:
    url = sandbox.url.replace("http://", "https://")
    ran = console("check-config", "--online", "--config", str(CONFIG), env=gitlab(url))
    assert ran.code == UNREACHABLE
    assert one_error(ran).startswith(
        f"error: GitLab at {url}: TLS failed, the server does not speak TLS there ("
    )
    assert ran.err.endswith("check GITLAB_URL's scheme and port (http:// or https://)\n")
    assert "note:" not in ran.err  # not retried: waiting does not mend it


def test_an_unknown_host_is_one_line_at_once(tmp_path: Path) -> None:
    # A resolver that knows no *.invalid host, as a real one answers for it, without asking
    # any DNS server: tests touch no network.
    (tmp_path / "sitecustomize.py").write_text(
        "import socket\n"
        "_real = socket.getaddrinfo\n"
        "def _getaddrinfo(host, *args, **kwargs):\n"
        "    if isinstance(host, str) and host.endswith('.invalid'):\n"
        "        raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')\n"
        "    return _real(host, *args, **kwargs)\n"
        "socket.getaddrinfo = _getaddrinfo\n"
    )
    env = {**gitlab("https://gitlab.example.invalid"), "PYTHONPATH": str(tmp_path)}
    ran = console("run", "--config", str(CONFIG), env=env)
    assert ran.code == UNREACHABLE
    assert one_error(ran) == (
        "error: GitLab at https://gitlab.example.invalid: unknown host gitlab.example.invalid: "
        "check GITLAB_URL"
    )
    assert "note:" not in ran.err


def test_a_url_without_a_scheme_is_a_usage_error() -> None:
    ran = console("run", "--config", str(CONFIG), env=gitlab("gitlab.example.com"))
    assert ran.code == USAGE
    assert one_error(ran) == (
        "error: GITLAB_URL 'gitlab.example.com' is not a URL of a GitLab server: write it with "
        "its scheme, such as https://gitlab.example.com"
    )


def test_a_wrong_token_is_one_line(sandbox: Sandbox) -> None:
    commands = [[*command, "--config", str(CONFIG)] for command in TALKERS]
    ran_all = consoles(commands, gitlab(sandbox.url, "glpat-wrong"))
    for command, ran in zip(commands, ran_all, strict=True):
        assert ran.code == TOKEN_REFUSED, (command, ran.err)
        assert one_error(ran) == (
            f"error: GitLab at {sandbox.url} refused the token (401): check GITLAB_TOKEN, a "
            "token of the bot's user with the api scope, not expired or revoked"
        ), command
    assert sandbox.writes() == []


def test_setup_names_a_misspelt_project(sandbox: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    text = CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("security/exceptions ", "security/exceptionz "))
    assert config.read_text() != text
    env = gitlab(sandbox.url, sandbox.token("exception-bot"))
    ran = console("setup", "--config", str(config), env=env)
    assert ran.code == USAGE
    assert one_error(ran) == (
        "error: gitlab.requests_project: no project 'security/exceptionz' on GitLab, or the "
        "token's user cannot see it: check the path, and that the bot's user is a member"
    )


def test_mr_check_names_an_unknown_merge_request_and_project(sandbox: Sandbox) -> None:
    env = gitlab(sandbox.url, sandbox.token("exception-bot"))
    register = "security/exception-register"
    ran = console(
        "mr-check", "--config", str(CONFIG), "--project", register, "--mr", "999", env=env
    )
    assert ran.code == USAGE
    assert one_error(ran) == (
        f"error: no merge request !999 in {register}: check --mr (CI_MERGE_REQUEST_IID in CI)"
    )
    ran = console("mr-check", "--config", str(CONFIG), "--project", "no/such", "--mr", "1", env=env)
    assert (ran.code, one_error(ran)) == (
        USAGE,
        "error: no project no/such on GitLab, or the token's user cannot see it: check "
        "--project (CI_PROJECT_ID in CI)",
    )


def test_the_demo_with_a_config_its_company_does_not_fit() -> None:
    ran = console("demo", "--config", str(ROOT / "config" / "example.yml"))
    assert ran.code == USAGE
    assert one_error(ran).startswith(
        "error: this config does not fit the demo company, which has no project "
        "acme/security/exceptions (gitlab.requests_project), no project "
        "acme/payments/exceptions (gitlab.requests_project), no project "
        "acme/security/exception-register (gitlab.register_project) and 17 more: the demo "
        "plays the people and projects of the default config"
    )


@pytest.fixture
def daemon_with_a_wrong_token(sandbox: Sandbox) -> Iterator[subprocess.Popen[str]]:
    env = clean_env({**gitlab(sandbox.url, "glpat-wrong"), "PYTHONUNBUFFERED": "1"})
    command = [str(SCRIPT), "daemon", "--every", "1s", "--config", str(CONFIG)]
    with subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as daemon:
        try:
            yield daemon
        finally:
            if daemon.poll() is None:
                daemon.kill()


def test_the_daemon_outlives_a_wrong_token_and_exits_with_its_class(
    daemon_with_a_wrong_token: subprocess.Popen[str],
) -> None:
    daemon = daemon_with_a_wrong_token
    assert daemon.stderr is not None
    failed: list[str] = []
    deadline = time.monotonic() + 30
    while len(failed) < 2 and time.monotonic() < deadline:
        line = daemon.stderr.readline()
        assert line, "the daemon ended on a wrong token"
        failed.append(line)
    daemon.send_signal(signal.SIGTERM)
    out, rest = daemon.communicate(timeout=15)
    assert daemon.returncode == TOKEN_REFUSED
    lines = [*failed, *rest.splitlines(keepends=True)]
    assert "Traceback" not in "".join(lines)
    *runs, last = [line.rstrip("\n") for line in lines]
    assert len(runs) >= 2
    for line in runs:  # one line a failed run, stamped
        stamp, said = line.split(" ", 1)
        assert stamp.endswith("Z")
        assert said.startswith("run failed: GitLab at ")
        assert "refused the token (401)" in said
    assert last.startswith(f"exception-bot daemon: stopped; every run failed ({len(runs)}), ")
    assert out.startswith("exception-bot daemon: a run every 1s")
