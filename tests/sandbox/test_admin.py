"""Building a GitLab through its API, as GitLab answers: users and their tokens are an admin's
to create, groups and projects need the right role, members are added at an access level
(exception_bot/sandbox/routes_admin.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
SEED = {"users": [{"username": "root", "admin": True}, "alice"]}


@pytest.fixture
def instance() -> Iterator[Sandbox]:
    """An instance with its administrator and one user, as a fresh GitLab has."""
    with Sandbox(SEED) as running:
        yield running


def client(sandbox: Sandbox, token: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.url, private_token=token)


def new_user(gl: gitlab.Gitlab, username: str, **extra: Any) -> Any:
    data = {
        "username": username,
        "name": username.title(),
        "email": f"{username}@example.org",
        "force_random_password": True,
        "skip_confirmation": True,
        **extra,
    }
    return gl.users.create(data)


def token_of(gl: gitlab.Gitlab, user_id: int, scopes: list[str] | None = None) -> str:
    made = gl.users.get(user_id, lazy=True).personal_access_tokens.create(
        {"name": "functional", "scopes": scopes or ["api"], "expires_at": "2099-01-01"}
    )
    return str(made.token)


def error(call: Any) -> tuple[int, object]:
    with pytest.raises(gitlab.GitlabError) as raised:
        call()
    return raised.value.response_code or 0, raised.value.error_message


def test_only_an_admin_creates_users_and_their_tokens(instance: Sandbox) -> None:
    root = client(instance, instance.token("root"))
    alice = client(instance, instance.token("alice"))
    # lib/api/users.rb: the parameters are checked before the admin
    assert error(lambda: alice.http_post("/users", post_data={"username": "x", "name": "X"})) == (
        400,
        "email is missing",
    )
    assert error(lambda: new_user(alice, "mallory")) == (403, "403 Forbidden")
    bob = new_user(root, "bob")
    assert (bob.username, bob.email, bob.is_admin) == ("bob", "bob@example.org", False)
    assert bob.confirmed_at is not None  # skip_confirmation
    assert error(lambda: new_user(root, "bob", email="other@example.org")) == (
        409,
        "Username has already been taken",
    )
    assert error(lambda: new_user(root, "robert", email="BOB@example.org")) == (
        409,
        "Email has already been taken",
    )
    status, message = error(lambda: new_user(root, "-bob"))
    assert status == 400
    assert isinstance(message, dict)
    assert list(message) == ["username"]
    # A user made through the API has no token until an admin creates one.
    assert error(lambda: token_of(alice, bob.id)) == (403, "403 Forbidden")
    assert error(lambda: token_of(root, 9999)) == (404, "404 User Not Found")
    assert error(lambda: token_of(root, bob.id, ["everything"])) == (
        400,
        "scopes does not have a valid value",
    )
    secret = token_of(root, bob.id)
    as_bob = client(instance, secret)
    as_bob.auth()
    assert as_bob.user is not None
    assert as_bob.user.username == "bob"


def test_groups_and_subgroups(instance: Sandbox) -> None:
    root = client(instance, instance.token("root"))
    alice = client(instance, instance.token("alice"))
    top = root.groups.create({"name": "Acme", "path": "acme", "visibility": "internal"})
    assert (top.full_path, top.visibility, top.parent_id) == ("acme", "internal", None)
    sub = root.groups.create({"name": "Security", "path": "security", "parent_id": top.id})
    assert (sub.full_path, sub.parent_id, sub.visibility) == ("acme/security", top.id, "private")
    # group_policy.rb: an internal group is for every signed-in user to read (its members
    # too); a private one only for its members (404 to anyone else, as for no group)
    assert [m.username for m in alice.groups.get(top.id).members_all.list()] == ["root"]
    assert error(lambda: alice.groups.get(sub.id)) == (404, "404 Group Not Found")
    # Groups::CreateService makes the creator an Owner of each group it creates
    owners = {m.username: m.access_level for m in root.groups.get(sub.id).members.list()}
    assert owners == {"root": OWNER}
    assert error(
        lambda: root.groups.create({"name": "S", "path": "security", "parent_id": top.id})
    )[1] == ('Failed to save group {:path=>["has already been taken"]}')
    assert error(lambda: root.groups.create({"name": "X", "path": "x", "parent_id": 9999})) == (
        404,
        "404 Group Not Found",
    )
    # create_subgroup needs Maintainer of the parent
    assert error(lambda: alice.groups.create({"name": "A", "path": "a", "parent_id": top.id})) == (
        403,
        "403 Forbidden",
    )
    assert error(
        lambda: root.groups.create(
            {"name": "P", "path": "p", "parent_id": sub.id, "visibility": "internal"}
        )
    ) == (
        400,
        'Failed to save group {:visibility_level=>["internal is not allowed since the parent '
        'group has a private visibility."]}',
    )
    assert error(lambda: root.http_post("/groups", post_data={"name": "Acme"})) == (
        400,
        "path is missing",
    )


def test_projects_in_a_group(instance: Sandbox) -> None:
    root = client(instance, instance.token("root"))
    alice = client(instance, instance.token("alice"))
    group = root.groups.create({"name": "Acme", "path": "acme"})
    made = root.projects.create(
        {"name": "requests", "namespace_id": group.id, "initialize_with_readme": True}
    )
    assert (made.path_with_namespace, made.visibility, made.default_branch) == (
        "acme/requests",
        "private",
        "main",
    )
    assert instance.file("acme/requests", "README.md") == "# requests\n"
    # the creator of a project in a group is not made a member of it
    assert root.projects.get(made.id).members.list() == []
    empty = root.projects.create({"path": "register", "namespace_id": group.id})
    assert (empty.name, instance.files("acme/register")) == ("register", {})
    assert error(lambda: root.projects.create({"path": "requests", "namespace_id": group.id})) == (
        400,
        {"name": ["has already been taken"], "path": ["has already been taken"]},
    )
    assert error(lambda: alice.projects.create({"path": "mine", "namespace_id": group.id})) == (
        400,
        {"namespace": ["is not valid"]},
    )
    assert error(lambda: root.http_post("/projects", post_data={"namespace_id": group.id})) == (
        400,
        "name, path are missing, at least one parameter must be provided",
    )


def test_members_at_an_access_level(instance: Sandbox) -> None:
    root = client(instance, instance.token("root"))
    group = root.groups.create({"name": "Acme", "path": "acme"})
    project = root.projects.create({"path": "requests", "namespace_id": group.id})
    alice, bob = root.users.list(username="alice")[0], new_user(root, "bob")
    members = root.projects.get(project.id, lazy=True).members
    added = members.create({"user_id": bob.id, "access_level": MAINTAINER})
    assert (added.username, added.access_level) == ("bob", MAINTAINER)
    assert error(lambda: members.create({"user_id": bob.id, "access_level": GUEST})) == (
        409,
        "Member already exists",
    )
    assert error(lambda: members.create({"user_id": 9999, "access_level": GUEST})) == (
        404,
        "404 User Not Found",
    )
    assert error(lambda: members.create({"user_id": alice.id, "access_level": 35})) == (
        400,
        {"access_level": ["is not included in the list"]},
    )
    # admin_project_member is for Maintainers: bob may add alice, and she may add no one
    as_bob = client(instance, token_of(root, bob.id))
    as_bob.projects.get(project.id, lazy=True).members.create(
        {"user_id": alice.id, "access_level": REPORTER}
    )
    as_alice = client(instance, instance.token("alice"))
    assert error(
        lambda: as_alice.projects.get(project.id, lazy=True).members.update(
            bob.id, {"access_level": GUEST}
        )
    ) == (403, "403 Forbidden")
    members.update(bob.id, {"access_level": REPORTER})
    assert members.get(bob.id).access_level == REPORTER
    carol = new_user(root, "carol")
    assert error(lambda: members.update(carol.id, {"access_level": GUEST})) == (
        404,
        "404 Not found",
    )
    # a level below the one held directly in an ancestor group is refused
    root.groups.get(group.id, lazy=True).members.create(
        {"user_id": alice.id, "access_level": DEVELOPER}
    )
    assert error(lambda: members.update(alice.id, {"access_level": REPORTER})) == (
        400,
        {
            "access_level": [
                "should be greater than or equal to Developer inherited membership from group Acme"
            ]
        },
    )
    # admin_group_member is for Owners: a Developer of the group adds no one to it
    as_alice_group = as_alice.groups.get(group.id, lazy=True).members
    assert error(lambda: as_alice_group.create({"user_id": bob.id, "access_level": GUEST})) == (
        403,
        "403 Forbidden",
    )


def test_a_token_does_what_its_scopes_and_date_allow(instance: Sandbox) -> None:
    """lib/api/api_guard.rb: read_api reads only, read_user no API at all, and an expired
    token is refused, so a read-only token (mr-check's) cannot write in the sandbox either."""
    root = client(instance, instance.token("root"))
    group = root.groups.create({"name": "Sec", "path": "sec", "visibility": "internal"})
    bob = new_user(root, "bob")
    reader = client(instance, token_of(root, bob.id, ["read_api"]))
    assert reader.groups.get(group.id).path == "sec"
    status, message = error(lambda: reader.groups.create({"name": "X", "path": "x"}))
    assert status == 403
    assert "insufficient_scope" in str(message) or message == "insufficient_scope"
    profile = client(instance, token_of(root, bob.id, ["read_user"]))
    assert error(lambda: profile.groups.get(group.id))[0] == 403
    made = root.users.get(bob.id, lazy=True).personal_access_tokens.create(
        {"name": "old", "scopes": ["api"], "expires_at": "2000-01-01"}
    )
    assert error(lambda: client(instance, str(made.token)).groups.get(group.id))[0] == 401
