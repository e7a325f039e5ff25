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
        f"{prefix}-alert::changed-after-approval",
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
        return self._name(f"{self.prefix}-alert::changed-after-approval")

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

    def creation_labels(self) -> tuple[str, str]:
        """The labels the issue templates apply when a request is opened."""
        return (self.intake, self.state(State.SUBMITTED))


def quick_action_labels(names: Iterable[str]) -> str:
    """``~"a" ~"b"``: label references for a ``/label`` quick action (quoted, spaces allowed)."""
    return " ".join(f'~"{name}"' for name in names)
