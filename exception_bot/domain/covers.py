"""What an exception covers: the grammar of finding identifiers and project paths, and which
covered ids match a finding of a GitLab security report.

A request's *Covers* names findings by the identifiers scanners write into GitLab's security
reports (``vulnerabilities[].identifiers[]``, security-report-schemas ``src/
security-report-format.json``): a CVE, a GHSA, ``<scanner>:<rule-id>`` (the identifier's
``type`` without GitLab's ``_id`` suffix: ``semgrep:python.lang.eval`` for a ``semgrep_id``),
``vulnerability:<id>`` (the report's own ``vulnerabilities[].id``) or ``image:<reference>``
(every finding of a container scanning report whose ``location.image`` is that image).

Whatever lets a finding through a gate must be bounded: no wildcard, no glob, no class of
weakness (``cwe:79`` names every cross-site scripting bug there will ever be), nothing longer
than a real identifier. The same parser turns a report's identifiers into keys, so a covered id
matches a finding exactly when both normalise to the same text: matching is a set lookup, which
keeps a 50,000-finding report against a 5,000-entry register fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_FINDING = 200  # characters: the longest CVE, GHSA or rule id is far shorter
MAX_IMAGE = 255 + 128 + 80  # repository (Docker's 255) + tag (128) + "@sha256:<64 hex>"
MAX_PROJECT = 255  # GitLab's route limit (app/models/route.rb)
MAX_DEPTH = 20  # groups nest at most 20 levels (doc/user/group/subgroups/index.md)

_CVE_RE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}")
# GHSA ids: three groups of four from GitHub's 32-character alphabet (lowercase when written).
_GHSA_RE = re.compile(r"GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}")
_SCANNER_RE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_RULE_RE = re.compile(r"[a-z0-9][a-z0-9_.:/@+#=~-]{0,199}")
_REPORT_ID_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
# An image reference: registry host[:port], path components, then a tag and/or a digest
# (distribution/reference's grammar, bounded). A reference without tag or digest names whatever
# "latest" is tomorrow, which is not a finding anyone reviewed.
_IMAGE_RE = re.compile(
    r"[a-z0-9][a-z0-9.-]{0,252}(?::[0-9]{1,5})?(?:/[a-z0-9][a-z0-9._-]{0,127}){0,20}"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_GLOB_RE = re.compile(r"[*?\[\]{}!]")

# Identifier types that name a class of findings, not a finding: covering one would let through
# every future finding of the class.
CLASS_TYPES = frozenset({"cwe", "owasp", "wasc", "capec"})
# Prefixes that are spellings of the bare forms.
_ALIASES = {"cve": "", "ghsa": ""}


@dataclass(frozen=True)
class Refused:
    """Why a text is not a covered id or project path, and what to write instead (validation
    makes a :class:`exception_bot.domain.model.Problem` of it under its own field name)."""

    what: str
    fix: str


_FINDING_FIX = (
    "Write one finding per line: a CVE (CVE-2024-12345), a GHSA (GHSA-xxxx-xxxx-xxxx), "
    "<scanner>:<rule-id> (semgrep:python.lang.eval), vulnerability:<report id> or "
    "image:<registry/path:tag>."
)


def parse_finding(text: str) -> str | Refused:
    """``text`` as a normalised covered id, or why it is not one."""
    flat = str(text).strip()
    if not flat:
        return Refused("A finding is empty.", _FINDING_FIX)
    if len(flat) > MAX_IMAGE:
        return Refused(f"A finding is {len(flat)} characters long.", _FINDING_FIX)
    if not flat.isascii():
        # Every id scanners write is ASCII; case folding would turn a lookalike (the Kelvin
        # sign) into an ASCII letter and make a finding named otherwise match a covered id.
        return Refused(
            "A finding holds characters other than ASCII letters and digits.", _FINDING_FIX
        )
    if _GLOB_RE.search(flat):
        return Refused(
            "A finding holds a wildcard or pattern character (* ? [ ] { } !).",
            "Name each finding the exception covers; an exception never covers findings "
            "nobody has seen.",
        )
    head = flat[:5].upper()
    if head.startswith("CVE-") and _CVE_RE.fullmatch(upper := flat.upper()):
        return upper
    if head == "GHSA-" and _GHSA_RE.fullmatch(ghsa := "GHSA" + flat[4:].lower()):
        return ghsa
    kind, sep, rest = flat.partition(":")
    kind = kind.lower()
    if not sep or not rest:
        return Refused("A finding is neither a CVE, a GHSA nor <scanner>:<rule-id>.", _FINDING_FIX)
    if kind in _ALIASES:
        bare = parse_finding(rest)
        return bare if not isinstance(bare, str) or ":" not in bare else _not_id(kind)
    if kind == "image":
        return _image(rest)
    return _rule(kind, rest)


def _not_id(kind: str) -> Refused:
    return Refused(f"A {kind}: finding does not hold a {kind.upper()} id.", _FINDING_FIX)


def _image(reference: str) -> str | Refused:
    head, at, _ = reference.partition("@")
    normal = _lower_except_tag(reference)
    if len(reference) > MAX_IMAGE or not _IMAGE_RE.fullmatch(normal):
        return Refused("An image: finding is not an image reference.", _FINDING_FIX)
    if not at and ":" not in head.rsplit("/", 1)[-1]:
        return Refused(
            "An image: finding names no tag or digest.",
            "Write the image with the tag or digest that was scanned (registry/path:1.2.3).",
        )
    if not at and head.rsplit(":", 1)[-1].lower() == "latest":
        # "latest" is what a reference without a tag means: whatever is pushed next.
        return Refused(
            "An image: finding is tagged latest, which names whatever image is pushed next.",
            "Write the image with the digest (registry/path@sha256:...) or the release tag "
            "that was scanned.",
        )
    return "image:" + normal


def _lower_except_tag(reference: str) -> str:
    """Registries and repositories are lowercase by Docker's grammar; tags are case-sensitive."""
    head, at, digest = reference.partition("@")
    repository, colon, tag = head.rpartition(":")
    if not colon or "/" in tag:
        return head.lower() + at + digest.lower()
    return repository.lower() + ":" + tag + at + digest.lower()


def _rule(kind: str, rest: str) -> str | Refused:
    if not _SCANNER_RE.fullmatch(kind):
        return Refused("A finding's scanner name is not a scanner id.", _FINDING_FIX)
    scanner = kind.removesuffix("_id")
    if scanner in CLASS_TYPES:
        return Refused(
            f"{scanner}: names a class of weakness, not a finding.",
            "Name the rule or the CVE the exception is for (semgrep:<rule-id>, CVE-...).",
        )
    value = rest.lower()
    pattern = _REPORT_ID_RE if scanner == "vulnerability" else _RULE_RE
    if len(value) > MAX_FINDING or not pattern.fullmatch(value):
        return Refused(f"The {scanner}: rule id is not an identifier.", _FINDING_FIX)
    return f"{scanner}:{value}"


def parse_project(text: str, host: str) -> str | Refused:
    """``text`` as a GitLab project path (``group/sub/project``, lowercase: GitLab's routes
    are case-insensitive), or why it is not one. A URL counts only on ``host`` (the configured
    GitLab's ``https://host``): an exception covers projects of this GitLab, nothing else."""
    flat = str(text).strip()
    fix = "Write the project's path as GitLab shows it (group/subgroup/project)."
    if _GLOB_RE.search(flat):
        return Refused("A project holds a wildcard or pattern character.", fix)
    scheme, sep, rest = flat.partition("://")
    if sep:
        where, slash, path = rest.partition("/")
        if scheme.lower() not in ("http", "https") or where.lower() != host.lower() or not slash:
            return Refused("A project URL is not on this GitLab.", fix)
        flat = path
    flat = flat.strip("/").removesuffix(".git")
    segments = flat.split("/")
    if len(flat) > MAX_PROJECT or len(segments) < 2 or len(segments) > MAX_DEPTH:
        return Refused("A project is not a project path (group/project).", fix)
    if not all(_SEGMENT_RE.fullmatch(s) and not s.endswith(".") for s in segments):
        return Refused("A project path holds characters GitLab paths do not.", fix)
    return flat.lower()


def project_covered(projects: Iterable[str], project_path: str) -> bool:
    """Whether ``project_path`` (``CI_PROJECT_PATH``) is one of the covered ``projects``."""
    wanted = project_path.strip("/").lower()
    # ASCII only, as parse_project reads paths: lower() folds lookalikes (the Kelvin sign) into
    # ASCII letters, and a hand-written file of the merge-request route is not parsed first.
    return wanted.isascii() and any(str(p).isascii() and str(p).lower() == wanted for p in projects)


def finding_keys(finding: Mapping[str, Any]) -> frozenset[str]:
    """The covered ids that match ``finding`` (one of a report's ``vulnerabilities[]``): each
    identifier as ``<type>:<value>``, and its value or name when that is a bare CVE or GHSA;
    the ``cve`` field when it is one; the report id as ``vulnerability:<id>``; and, for
    container scanning, ``location.image`` as ``image:<image>``. Each text is read as the kind
    its place says and no other: an identifier whose value spells ``image:...`` or
    ``vulnerability:...`` is a rule of its scanner, never an image or a report id. Text that
    is no identifier gives no key: nothing can cover it, so it blocks."""
    keys: set[str | None] = set()
    identifiers = finding.get("identifiers")
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if not isinstance(identifier, dict):  # JSON's objects; an ABC check costs 5x more
            continue
        kind, value, name = identifier.get("type"), identifier.get("value"), identifier.get("name")
        if isinstance(value, str):
            keys.add(bare_id(value))
            if isinstance(kind, str):
                keys.add(_scoped(kind, value))
        if isinstance(name, str):
            keys.add(bare_id(name))
    cve, ident = finding.get("cve"), finding.get("id")
    if isinstance(cve, str):
        keys.add(bare_id(cve))
    if isinstance(ident, str):
        keys.add(report_key(ident))
    location = finding.get("location")
    image = location.get("image") if isinstance(location, dict) else None
    if isinstance(image, str):
        keys.add(_kind_of("image", "image:" + image))
    return frozenset(k for k in keys if k is not None)


# Kinds a report identifier's type may not claim: a CVE or GHSA is read bare, an image from the
# finding's location, a report id from the finding's id.
_NOT_SCANNERS = frozenset({"cve", "ghsa", "image", "vulnerability"})


_BARE_HEADS = frozenset("CcGg")


def bare_id(text: str) -> str | None:
    """``text`` as a CVE or GHSA written bare (no ``kind:``), else nothing."""
    if text[:1] not in _BARE_HEADS:
        return None  # most identifiers: an advisory's UUID, a rule's name
    if _CVE_RE.fullmatch(text) or _GHSA_RE.fullmatch(text):
        return text  # as scanners write them, already normal: spare the parser (50,000 a report)
    if len(text) > MAX_FINDING or not text[:5].upper().startswith(("CVE-", "GHSA-")):
        return None  # spare the refusal
    parsed = parse_finding(text)
    return parsed if isinstance(parsed, str) and ":" not in parsed else None


def _scoped(kind: str, value: str) -> str | None:
    """An identifier of ``kind`` (``semgrep_id``) as ``<scanner>:<value>``, only ever a rule of
    that scanner."""
    scanner = _scanner(kind)
    if scanner is None:
        return None
    if scanner in ("cve", "ghsa"):
        return bare_id(value)
    if _RULE_RE.fullmatch(value):
        return f"{scanner}:{value}"  # lowercase ASCII, no pattern character: already normal
    return _kind_of(scanner, f"{kind}:{value}")


@lru_cache(maxsize=1024)  # a report has a handful of identifier types
def _scanner(kind: str) -> str | None:
    """The scanner an identifier's ``type`` names (``semgrep_id``: semgrep), ``cve`` or
    ``ghsa``; nothing for a type that may not name a rule (an image, a report id, a class of
    weakness) or is no scanner id."""
    lower = kind.lower()
    scanner = lower.removesuffix("_id")
    if scanner in ("cve", "ghsa"):
        return scanner
    if scanner in _NOT_SCANNERS or scanner in CLASS_TYPES:
        return None
    return scanner if kind.isascii() and _SCANNER_RE.fullmatch(lower) else None


def report_key(ident: str) -> str | None:
    """A report id (``vulnerabilities[].id``) as ``vulnerability:<id>``, when it is one."""
    if _REPORT_ID_RE.fullmatch(ident):
        return "vulnerability:" + ident  # already normal
    return _kind_of("vulnerability", "vulnerability:" + ident)


def _kind_of(kind: str, text: str) -> str | None:
    """``text`` parsed, when it is an id of ``kind``."""
    if len(text) > MAX_IMAGE + 20:
        return None
    parsed = parse_finding(text)
    return parsed if isinstance(parsed, str) and parsed.startswith(kind + ":") else None


def matching(covered: Iterable[str], finding: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``covered`` ids (normalised, as ``register.json`` holds them) that match
    ``finding``, in their order."""
    keys = finding_keys(finding)
    return tuple(c for c in covered if c in keys)
