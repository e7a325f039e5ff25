"""Every endpoint of the sandbox: importing this module registers them in ``api.ROUTES``."""

from exception_bot.sandbox import (
    routes_admin,
    routes_artifacts,
    routes_hooks,
    routes_issues,
    routes_labels,
    routes_merge_requests,
    routes_notes,
    routes_people,
    routes_repository,
    routes_status,
)

AREAS = (
    routes_admin,
    routes_people,
    routes_labels,
    routes_issues,
    routes_notes,
    routes_repository,
    routes_merge_requests,
    routes_hooks,
    routes_status,
    routes_artifacts,
)
