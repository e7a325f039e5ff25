"""GitLab security reports as the analyzers write them (security-report-schemas 15.0.x, as
gitlabhq vendors them in lib/gitlab/ci/parsers/security/validators/schemas/15.0.0/): for the
gate's tests and its benchmark."""

from __future__ import annotations

import uuid
from typing import Any


def vulnerability(cve: str, severity: str = "High", package: str = "lodash") -> dict[str, Any]:
    """One dependency scanning finding of ``cve`` in ``package``, with gemnasium's identifiers
    (its own advisory id first, then the CVE) and a description the size of a real one."""
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cve}/{package}"))
    return {
        "id": ident,
        "name": f"Prototype pollution in {package}",
        "description": f"{package} before 4.17.21 is vulnerable to prototype pollution. " * 8,
        "severity": severity,
        "solution": f"Upgrade {package} to 4.17.21 or above.",
        "location": {
            "file": "package-lock.json",
            "dependency": {"package": {"name": package}, "version": "4.17.15"},
        },
        "identifiers": [
            {
                "type": "gemnasium",
                "name": f"Gemnasium-{ident}",
                "value": ident,
                "url": "https://gitlab.com/gitlab-org/security-products/gemnasium-db",
            },
            {
                "type": "cve",
                "name": cve,
                "value": cve,
                "url": f"https://cve.mitre.org/cgi-bin/cvename.cgi?name={cve}",
            },
        ],
        "links": [{"url": f"https://nvd.nist.gov/vuln/detail/{cve}"}],
    }


def dependency_report(findings: list[dict[str, Any]], version: str = "15.0.7") -> dict[str, Any]:
    """A gl-dependency-scanning-report.json holding ``findings``."""
    tool = {
        "id": "gemnasium",
        "name": "Gemnasium",
        "version": "5.2.1",
        "vendor": {"name": "GitLab"},
    }
    return {
        "version": version,
        "vulnerabilities": findings,
        "dependency_files": [],
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "dependency_scanning",
            "start_time": "2026-11-23T09:00:00",
            "end_time": "2026-11-23T09:01:00",
            "status": "success",
        },
    }
