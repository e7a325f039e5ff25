"""GitLab's less obvious behaviour, reproduced by the sandbox: quick actions, Free-tier limits,
system-note wording, note visibility and list parameters. Through python-gitlab, except the
table of where GitLab finds quick actions, which reads the extractor directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gitlab
import pytest
import requests
from gitlab.v4.objects import ProjectIssue

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.quick_actions import Command, extract

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"


def new_issue(gl: Client, description: str = "", user: str = "bob", **extra: object) -> int:
    project = gl(user).projects.get(REQUESTS, lazy=True)
    return int(project.issues.create({"title": "t", "description": description, **extra}).iid)


def read(gl: Client, iid: int, user: str = "bob") -> ProjectIssue:
    return gl(user).projects.get(REQUESTS, lazy=True).issues.get(iid)


def system_notes(gl: Client, iid: int) -> list[tuple[str, str]]:
    notes = read(gl, iid).notes.list(get_all=True, sort="asc")
    return [(n.author["username"], n.body) for n in notes if n.system]


# -- where GitLab finds quick actions (lib/gitlab/quick_actions/extractor.rb) -------------------

RUN = [Command("close")]


@pytest.mark.parametrize(
    ("text", "stored", "found"),
    [
        ("/close", "", RUN),
        ("Text\n/close\n\nMore", "Text\nMore", RUN),
        ("Text\n/CLOSE", "Text", RUN),  # names are case-insensitive
        ('/label ~a ~"b c"', "", [Command("label", '~a ~"b c"')]),
        ("/close\r\n", "", RUN),
        ("/unknown ~a", "/unknown ~a", []),  # not a command: stays as text
        ("/closed", "/closed", []),
        ("/label~a", "/label~a", []),  # the argument needs a space
        ("Text /close", "Text /close", []),  # only at the start of a line
        (" /close", " /close", []),  # not even after a space
        ("```\n/close\n```", "```\n/close\n```", []),
        ("~~~\n/close\n~~~", "~~~\n/close\n~~~", []),
        ("````md\n```\n/close\n````", "````md\n```\n/close\n````", []),
        ("    /close", "    /close", []),  # an indented code block
        ("> /close", "> /close", []),
        (">>>\n/close\n>>>", ">>>\n/close\n>>>", []),
        ("<div>\n/close\n</div>", "<div>\n/close\n</div>", []),
        ("- [ ] item\n/close", "- [ ] item\n/close", []),  # a lazy line of the list item
        ("- [ ] item\n\n/close", "- [ ] item", RUN),
        ("Note `a\n/close\nb` end", "Note `a\n/close\nb` end", []),  # inside inline code
        ("`code` first\n/close", "`code` first", RUN),
    ],
)
def test_where_quick_actions_are_found(text: str, stored: str, found: list[Command]) -> None:
    assert extract(text) == (stored, tuple(found))


# -- quick actions through the API ---------------------------------------------------------------


def test_quick_actions_apply_existing_labels_only(gl: Client) -> None:
    iid = new_issue(gl, '/label ~"exception::approved" ~ExceptionRequest')
    # interpret_service.rb find_labels: references to labels that exist; none is created
    assert read(gl, iid).labels == ["ExceptionRequest"]
    names = {label.name for label in gl("bob").projects.get(REQUESTS).labels.list(get_all=True)}
    assert "exception::approved" not in names
    read(gl, iid).notes.create({"body": "/label exception::submitted"})  # a name without ~
    read(gl, iid).notes.create({"body": "/label ~exception::submitted"})  # scoped, unquoted
    assert read(gl, iid).labels == ["ExceptionRequest", "exception::submitted"]
    # the API's labels, by contrast, create what they name (issues.md)
    other = new_issue(gl, labels="brand-new")
    assert read(gl, other).labels == ["brand-new"]


def test_label_commands_by_id_unlabel_and_relabel(gl: Client) -> None:
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    labels = {lb.name: lb.id for lb in project.labels.list(get_all=True)}
    iid = new_issue(gl, f"/label ~{labels['ExceptionRequest']}")
    issue = read(gl, iid, "carol")
    assert issue.labels == ["ExceptionRequest"]
    issue.notes.create({"body": "/relabel ~exception::submitted"})
    assert read(gl, iid).labels == ["exception::submitted"]
    issue.notes.create({"body": "/unlabel"})
    assert read(gl, iid).labels == []
    events = read(gl, iid).resourcelabelevents.list(get_all=True)
    # one request's events: its additions, then its removals (change_labels_service.rb)
    assert [(e.user["username"], e.label["name"], e.action) for e in events] == [
        ("bob", "ExceptionRequest", "add"),
        ("carol", "exception::submitted", "add"),
        ("carol", "ExceptionRequest", "remove"),
        ("carol", "exception::submitted", "remove"),
    ]


def test_state_commands_need_an_existing_issue(gl: Client) -> None:
    iid = new_issue(gl, "/close")
    assert read(gl, iid).state == "opened"  # /close's condition: quick_action_target.persisted?
    read(gl, iid, "carol").notes.create({"body": "Done.\n\n/close"})
    closed = read(gl, iid)
    # closed_by() is a python-gitlab method (merge requests): the field is in attributes
    assert (closed.state, closed.attributes["closed_by"]["username"]) == ("closed", "carol")
    read(gl, iid, "carol").notes.create({"body": "/reopen"})
    assert read(gl, iid).state == "opened"


def test_a_command_in_a_list_item_or_code_does_nothing(gl: Client) -> None:
    text = "- [ ] Department head approval\n/label ~ExceptionRequest\n\n```\n/confidential\n```"
    iid = new_issue(gl, text)
    issue = read(gl, iid)
    assert (issue.labels, issue.confidential, issue.description) == ([], False, text)


def test_free_tier_keeps_one_assignee(gl: Client) -> None:
    carol, sam = (gl("bob").users.list(username=u)[0].id for u in ("carol", "sam"))
    iid = new_issue(gl, assignee_ids=[carol, sam])
    assert [a["username"] for a in read(gl, iid).assignees] == ["carol"]
    gl("exception-bot").projects.get(REQUESTS, lazy=True).issues.update(
        iid, {"assignee_ids": [sam, carol]}
    )
    assert [a["username"] for a in read(gl, iid).assignees] == ["sam"]
    read(gl, iid, "tom").notes.create({"body": "/assign @carol @sam"})
    assert [a["username"] for a in read(gl, iid).assignees] == ["carol"]
    read(gl, iid, "tom").notes.create({"body": "/assign me"})
    assert [a["username"] for a in read(gl, iid).assignees] == ["tom"]
    read(gl, iid, "tom").notes.create({"body": "/unassign"})
    assert read(gl, iid).assignees == []
    assert system_notes(gl, iid) == [
        ("bob", "assigned to @carol"),
        ("exception-bot", "assigned to @sam and unassigned @carol"),
        ("tom", "assigned to @carol and unassigned @sam"),
        ("tom", "assigned to @tom and unassigned @carol"),
        ("tom", "unassigned @tom"),
    ]


def test_a_note_of_failing_commands_only_is_refused(gl: Client) -> None:
    issue = read(gl, new_issue(gl))
    with pytest.raises(gitlab.GitlabCreateError) as err:
        issue.notes.create({"body": "/assign @nobody"})
    assert err.value.response_code == 400
    assert "Failed to find users for '@nobody'" in err.value.error_message
    with pytest.raises(gitlab.GitlabCreateError):
        issue.notes.create({"body": "  "})
    issue.notes.create({"body": "/lock"})  # a known command that worked: 202, no note
    assert read(gl, issue.iid).discussion_locked is True
    assert issue.notes.list(get_all=True, activity_filter="only_comments") == []


def test_due_date_confidentiality_and_title_notes(gl: Client) -> None:
    iid = new_issue(gl, "/due 2027-01-05\n/confidential")
    issue = read(gl, iid)
    assert (issue.due_date, issue.confidential) == ("2027-01-05", True)
    assert system_notes(gl, iid) == []  # creation writes label events, not these notes
    project = gl("sam").projects.get(REQUESTS, lazy=True)
    project.issues.update(iid, {"due_date": "2027-02-01", "confidential": False, "title": "u"})
    project.issues.update(iid, {"due_date": None})
    assert system_notes(gl, iid) == [
        ("sam", "changed title from **t** to **u**"),
        ("sam", "made the issue visible to everyone"),
        ("sam", "changed due date to February 1, 2027"),
        ("sam", "removed due date"),
    ]


def test_due_reads_relative_dates(sandbox: Sandbox, gl: Client) -> None:
    sandbox.set_now(datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert read(gl, new_issue(gl, "/due tomorrow")).due_date == "2027-03-02"
    assert read(gl, new_issue(gl, "/due in 2 weeks")).due_date == "2027-03-15"
    assert read(gl, new_issue(gl, "/due someday")).due_date is None


def test_a_description_edit_runs_its_commands_as_the_editor(gl: Client) -> None:
    iid = new_issue(gl, "Body")
    issue = read(gl, iid, "carol")
    issue.description = "Body\n\n/label ~ExceptionRequest"
    issue.save()
    fresh = read(gl, iid)
    assert (fresh.description, fresh.labels) == ("Body", ["ExceptionRequest"])
    (event,) = fresh.resourcelabelevents.list(get_all=True)
    assert event.user["username"] == "carol"


# -- notes ---------------------------------------------------------------------------------------


def test_internal_notes_are_for_reporters_and_up(sandbox: Sandbox, gl: Client) -> None:
    sandbox.load({"users": ["gus"], "projects": [{"path": REQUESTS, "members": {"gus": "guest"}}]})
    iid = new_issue(gl)
    note = read(gl, iid, "exception-bot").notes.create({"body": "for us", "internal": True})
    assert [n.body for n in read(gl, iid, "tom").notes.list(get_all=True)] == ["for us"]
    # gus is a Guest of the project: GitLab hides internal notes from him
    assert read(gl, iid, "gus").notes.list(get_all=True) == []
    with pytest.raises(gitlab.GitlabGetError):
        read(gl, iid, "gus").notes.get(note.id)


def test_notes_filter_activity_and_delete(gl: Client) -> None:
    iid = new_issue(gl)
    gl("carol").projects.get(REQUESTS, lazy=True).issues.update(iid, {"title": "new"})
    issue = read(gl, iid)
    comment = issue.notes.create({"body": "a comment"})
    activity = issue.notes.list(get_all=True, activity_filter="only_activity")
    assert [n.body for n in activity] == ["changed title from **t** to **new**"]
    with pytest.raises(gitlab.GitlabDeleteError):
        read(gl, iid, "carol").notes.delete(comment.id)  # not hers
    issue.notes.delete(comment.id)
    assert issue.notes.list(get_all=True, activity_filter="only_comments") == []


# -- issues: fields and lists -----------------------------------------------------------------


def test_description_is_null_when_empty(gl: Client) -> None:
    empty = read(gl, new_issue(gl))
    assert (empty.description, empty.task_status, empty.has_tasks) == (None, "", False)
    one = read(gl, new_issue(gl, "- [x] only"))
    assert one.task_status == "1 of 1 checklist item completed"


def test_updated_at_stays_when_nothing_changes(sandbox: Sandbox, gl: Client) -> None:
    sandbox.set_now(datetime(2027, 1, 4, 9, tzinfo=UTC))
    iid = new_issue(gl)
    sandbox.advance(timedelta(hours=1))
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    project.issues.update(iid, {"remove_labels": "not-there"})  # a no-op, answered 200
    assert read(gl, iid).updated_at == "2027-01-04T09:00:00.000Z"
    # remove wins over add for a label in both lists
    project.issues.update(iid, {"add_labels": "x", "remove_labels": "x"})
    assert read(gl, iid).labels == []


def test_list_parameters(sandbox: Sandbox, gl: Client) -> None:
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    for n, (user, title) in enumerate([("bob", "b"), ("tom", "a"), ("bob", "c")]):
        sandbox.set_now(start + timedelta(hours=n))
        gl(user).projects.get(REQUESTS, lazy=True).issues.create({"title": title})
    project = gl("bob").projects.get(REQUESTS, lazy=True)

    def iids(**params: str) -> list[int]:
        return [i.iid for i in project.issues.list(get_all=True, query_parameters=params)]

    assert iids(order_by="title", sort="asc") == [2, 1, 3]
    assert iids(author_username="bob") == [3, 1]
    assert iids(created_before="2027-01-04T10:00:00Z") == [2, 1]  # on or before
    assert iids(created_after="2027-01-04T10:00:00Z", created_before="2027-01-04T10:00:00Z") == [2]
    for bad in ({"state": "open"}, {"sort": "up"}, {"order_by": "author"}):
        with pytest.raises(gitlab.GitlabListError) as err:
            project.issues.list(get_all=True, query_parameters=bad)
        assert err.value.response_code == 400
    assert iids(not_a_parameter="x") == [3, 2, 1]  # unknown parameters are ignored


def test_a_throttled_answer_is_plain_text(sandbox: Sandbox) -> None:
    sandbox.rate_limit(1, window_seconds=60)
    headers = {"PRIVATE-TOKEN": sandbox.token("bob")}
    assert requests.get(f"{sandbox.url}/api/v4/user", headers=headers, timeout=5).ok
    throttled = requests.get(f"{sandbox.url}/api/v4/user", headers=headers, timeout=5)
    assert throttled.status_code == 429
    assert throttled.text == "Retry later\n"
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.headers["RateLimit-Remaining"] == "0"
    assert throttled.headers["RateLimit-ResetTime"].endswith("GMT")


# -- checklists (app/models/concerns/taskable.rb) ------------------------------------------------


def test_checklist_items_come_from_rendered_markdown(gl: Client) -> None:
    text = (
        "- [ ] Department head approval\n"
        "- [x] Security team approval\n"
        "- [~] Not applicable here\n"
        "<!--\n- [ ] hidden in a comment\n-->\n\n"
        "~~~\n- [ ] shown as code\n~~~\n"
    )
    issue = read(gl, new_issue(gl, text))
    assert issue.task_completion_status == {"count": 2, "completed_count": 1}
    assert (issue.has_tasks, issue.task_status) == (True, "1 of 2 checklist items completed")
    # ticking a box inside the comment is a description change, not a checklist toggle
    issue = read(gl, issue.iid, "carol")
    issue.description = text.replace("- [ ] hidden", "- [x] hidden")
    issue.save()
    issue.description = issue.description.replace("- [x] Security", "- [ ] Security")
    issue.save()
    assert system_notes(gl, issue.iid) == [
        ("carol", "changed the description"),
        ("carol", "marked the checklist item **Security team approval** as incomplete"),
    ]


# -- events, members, label details -------------------------------------------------------------


def test_closing_and_reopening_are_state_events(gl: Client) -> None:
    iid = new_issue(gl)
    project = gl("carol").projects.get(REQUESTS, lazy=True)
    project.issues.update(iid, {"state_event": "close"})
    project.issues.update(iid, {"state_event": "close"})  # re-closing changes nothing
    read(gl, iid, "sam").notes.create({"body": "/reopen"})
    issue = read(gl, iid)
    events = issue.resourcestateevents.list(get_all=True)
    assert [(e.user["username"], e.state) for e in events] == [
        ("carol", "closed"),
        ("sam", "reopened"),
    ]
    assert issue.resourcestateevents.get(events[0].id).state == "closed"
    assert system_notes(gl, iid) == []  # no notes for state changes
    with pytest.raises(gitlab.GitlabUpdateError) as err:
        project.issues.update(iid, {"state_event": "open"})
    assert err.value.response_code == 400


def test_one_label_event_and_one_member(gl: Client) -> None:
    issue = read(gl, new_issue(gl, labels="ExceptionRequest"))
    (event,) = issue.resourcelabelevents.list(get_all=True)
    assert issue.resourcelabelevents.get(event.id).label["name"] == "ExceptionRequest"
    sue = gl("bob").users.list(username="sue")[0]
    compliance = gl("sid").groups.get("security/compliance", lazy=True)
    assert compliance.members_all.get(sue.id).access_level == 40
    # A Reporter of the requests project as well: requests are confidential (issue_policy.rb).
    assert gl("bob").projects.get(REQUESTS, lazy=True).members_all.get(sue.id).access_level == 20


def test_labels_with_details(gl: Client) -> None:
    iid = new_issue(gl, labels="ExceptionRequest")
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    (found,) = project.issues.list(get_all=True, with_labels_details=True)
    (label,) = found.labels
    assert (label["name"], label["color"]) == ("ExceptionRequest", "#428bca")
    assert read(gl, iid).labels == ["ExceptionRequest"]


def test_a_fault_can_carry_gitlabs_message(sandbox: Sandbox, gl: Client) -> None:
    moved = "Could not update refs/heads/main. Please refresh and try again."
    sandbox.fault("POST", r"/repository/commits$", status=400, message=moved)
    register = gl("exception-bot").projects.get("security/exception-register", lazy=True)
    data = {
        "branch": "main",
        "commit_message": "m",
        "actions": [{"action": "create", "file_path": "a.md", "content": "a"}],
    }
    with pytest.raises(gitlab.GitlabCreateError) as err:
        register.commits.create(data)
    assert (err.value.response_code, err.value.error_message) == (400, moved)
    register.commits.create(data)  # the retry goes through
    assert sandbox.file("security/exception-register", "a.md") == "a"
