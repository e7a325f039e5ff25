"""Label names: state, stage, risk, alert and action labels, all derived from one prefix.

Names default to ``<prefix>::<state>``, ``<prefix>-risk::<level>`` and so on; the config can
rename any single label (``labels.overrides``), keyed by its default name. Stage labels are
built from role names and cannot be renamed one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from exception_bot.domain.model import ActionLabel, RiskLevel, State

DEFAULT_PREFIX = "exception"
DEFAULT_INTAKE = "ExceptionRequest"


def default_names(prefix: str) -> tuple[str, ...]:
    """Every renamable label's default name for ``prefix``, in a stable order."""
    return (
        *(f"{prefix}::{state.value}" for state in State),
        *(f"{prefix}-risk::{risk.value}" for risk in RiskLevel),
        *(f"{prefix}-action::{action.value}" for action in ActionLabel),
        f"{prefix}-sla::breached",
        f"{prefix}-alert::tampering",
        f"{prefix}-terms::changed-after-approval",
    )


@dataclass(frozen=True)
class LabelScheme:
    """Maps the bot's concepts to the label names used on GitLab."""

    prefix: str = DEFAULT_PREFIX
    intake: str = DEFAULT_INTAKE
    overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def _name(self, default: str) -> str:
        return self.overrides.get(default, default)

    def state(self, state: State) -> str:
        return self._name(f"{self.prefix}::{state.value}")

    def risk(self, risk: RiskLevel) -> str:
        return self._name(f"{self.prefix}-risk::{risk.value}")

    def action(self, action: ActionLabel) -> str:
        return self._name(f"{self.prefix}-action::{action.value}")

    @property
    def sla_breached(self) -> str:
        return self._name(f"{self.prefix}-sla::breached")

    @property
    def tampering(self) -> str:
        return self._name(f"{self.prefix}-alert::tampering")

    @property
    def changed_after_approval(self) -> str:
        # Not of the tampering alert's scope: on GitLab Premium an issue keeps one label of
        # each scope, and a request may carry both alerts.
        return self._name(f"{self.prefix}-terms::changed-after-approval")

    @property
    def stage_prefix(self) -> str:
        return f"{self.prefix}-stage::"

    def stage(self, roles: Sequence[str]) -> str:
        """``exception-stage::ciso+vp-engineering``: roles in matrix order, ``_`` as ``-``."""
        return self.stage_prefix + "+".join(role.replace("_", "-") for role in roles)

    # Asked for every label of every issue: computed once per scheme.
    @cached_property
    def all_states(self) -> frozenset[str]:
        return frozenset(self.state(state) for state in State)

    @cached_property
    def all_risks(self) -> frozenset[str]:
        return frozenset(self.risk(risk) for risk in RiskLevel)

    @cached_property
    def all_actions(self) -> frozenset[str]:
        return frozenset(self.action(action) for action in ActionLabel)

    def families(self) -> tuple[tuple[str, ...], ...]:
        """The labels by kind: one request may carry a label of each kind at once (a state, a
        stage, a risk, an action or two, the SLA and both alerts, the intake label)."""
        return (
            tuple(self.state(state) for state in State),
            (self.stage(("role",)),),
            tuple(self.risk(risk) for risk in RiskLevel),
            tuple(self.action(action) for action in ActionLabel),
            (self.sla_breached,),
            (self.tampering,),
            (self.changed_after_approval,),
            (self.intake,),
        )

    def scope_clashes(self) -> list[tuple[str, str]]:
        """Pairs of labels of different kinds that share a scope: on GitLab Premium adding
        one would remove the other, e.g. the tampering alert taken off by the next one."""
        seen: dict[str, tuple[int, str]] = {}
        clashes = []
        for kind, names in enumerate(self.families()):
            for name in names:
                key = scope(name)
                if key is None:
                    continue
                first = seen.setdefault(key, (kind, name))
                if first[0] != kind:
                    clashes.append((first[1], name))
        return clashes

    def creation_labels(self) -> tuple[str, str]:
        """The labels the issue templates apply when a request is opened."""
        return (self.intake, self.state(State.SUBMITTED))


def scope(name: str) -> str | None:
    """A scoped label's scope: all before its last ``::`` (``a::b::c``: ``a::b``); None for
    an unscoped label. GitLab Premium keeps one label of each scope on an issue: adding one
    removes the other (gitlabhq ee/app/models/ee/label.rb ``scoped_label_key``,
    ee/app/services/ee/issuable/callbacks/labels.rb)."""
    head, separator, _ = name.rpartition("::")
    return head if separator else None


def quick_action_labels(names: Iterable[str]) -> str:
    """``~"a" ~"b"``: label references for a ``/label`` quick action (quoted, spaces allowed)."""
    return " ".join(f'~"{name}"' for name in names)
