"""``serve``'s /healthz verdict (exception_bot/service/health.py): healthy only after a full
pass that succeeded, not longer ago than two intervals, with GitLab answering."""

from __future__ import annotations

from exception_bot.service.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_ready_before_the_first_full_pass_then_healthy() -> None:
    clock = Clock()
    health = Health(60.0, clock)
    assert health.verdict().reasons == ("the first full pass has not finished yet",)
    health.answered()
    health.full_pass(None)
    assert health.verdict().ok


def test_a_failed_or_late_full_pass_is_unhealthy_until_one_succeeds() -> None:
    clock = Clock()
    health = Health(60.0, clock)
    health.full_pass("watching security/exception-register: 500")
    (reason,) = health.verdict().reasons
    assert reason == "the latest full pass failed: watching security/exception-register: 500"
    health.full_pass(None)
    clock.now += 120.0
    assert health.verdict().ok  # two intervals: late, not broken
    clock.now += 1.0
    (reason,) = health.verdict().reasons
    assert reason.startswith("the latest full pass ended 121 s ago")


def test_gitlab_unreachable_until_it_answers_again() -> None:
    clock = Clock()
    health = Health(60.0, clock)
    health.full_pass(None)
    health.answered()
    clock.now += 1
    health.unreachable("GitLab at https://gitlab.example.com did not answer")
    verdict = health.verdict()
    assert not verdict.ok
    assert verdict.reasons == (
        "GitLab is unreachable: GitLab at https://gitlab.example.com did not answer",
    )
    clock.now += 1
    health.answered()
    assert health.verdict().ok


def test_the_reasons_never_show_a_urls_credentials_and_are_bounded() -> None:
    """/healthz answers anyone who reaches the port."""
    health = Health(60.0, Clock())
    health.full_pass("GitLab at https://bot:s3cret@gitlab.example:8443/x did not answer " * 50)
    health.unreachable("proxy http://user@proxy.example and ftp://a:b@c failed")
    reasons = health.verdict().reasons
    assert all("s3cret" not in r and "bot:" not in r and "user@" not in r for r in reasons)
    assert "https://gitlab.example:8443/x" in reasons[0]
    assert reasons[1] == "GitLab is unreachable: proxy http://proxy.example and ftp://c failed"
    assert len(reasons[0]) <= 600
