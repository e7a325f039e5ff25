"""A file of a job's artifacts by ref and job name (doc/api/job_artifacts.md, "Download a single
artifact file from specific tag or branch"; lib/api/ci/job_artifacts.rb): the weekly report
reads each covered project's gate summary this way.

GitLab answers from the latest *successful* pipeline of the ref (pipelines.py). Reading needs
``read_build`` (``authorize_read_builds!``): Reporters and up, and everyone who may read a
public or internal project, whose pipelines are public by default (``public_builds``); a
Guest of a private project gets 403, a user who cannot see the project 404. A path holding a
NUL byte is a 400 (Gitlab::Ci::Build::Artifacts::Path#valid?), a file the archive lacks 404.
"""

from __future__ import annotations

from exception_bot.sandbox import access
from exception_bot.sandbox.api import Call, Reply, route
from exception_bot.sandbox.pipelines import latest_successful_job
from exception_bot.sandbox.store import ApiError, Store


# The ref may hold slashes, as Grape's ``ref_name: /.+/`` allows: the first "/raw/" ends it.
# The lookahead fails a path with a line break at once; without it, each "/raw/" of such a
# path would rescan the rest (quadratic).
@route("GET", r"/projects/:id/jobs/artifacts/(?=[^\n]*\Z)(?P<ref>.+?)/raw/(?P<artifact>.+)")
def get_artifact_file(store: Store, call: Call) -> Reply:
    job = call.param("job")
    if not job:
        raise ApiError(400, "400 Bad request - job is missing")
    project = access.project(store, call.args["id"], call.user)
    # read_build comes with reporter_access, or public_access when builds are public (the
    # default), the same users download_code allows.
    access.require(access.downloads_code(store, project, call.user))
    found = latest_successful_job(store, project.id, call.args["ref"], job)
    path = call.args["artifact"]
    if "\0" in path:
        raise ApiError(400, "400 Bad request")
    if path not in found.artifacts:
        raise ApiError(404, "404 Not found")
    return Reply(200, found.artifacts[path].decode("utf-8", "replace"))
