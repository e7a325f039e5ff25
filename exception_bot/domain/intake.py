"""Which issues were opened from the bot's issue templates, whatever their labels.

The templates add the intake label with a ``/label`` quick action, which GitLab runs only for
members of the project (``set_issue_metadata``, app/policies/issue_policy.rb) and only for
labels that exist (interpret_service.rb). A non-member opening a request in an internal or
public project, a renamed label or a deleted ``/label`` line leave a request without it, and
the bot, which lists requests by that label, would never see it. The templates open with an
HTML comment naming them (hidden once rendered): that comment is how the bot knows them.
"""

from __future__ import annotations

import re

# The first words of the comment each template opens with (templates/issue_templates/
# request.md.j2 and renewal.md.j2).
TEMPLATE_OPENINGS = ("Exception Request:", "Exception Renewal:")
_OPENING = re.compile(r"\A\s*<!--\s*(?:" + "|".join(re.escape(o) for o in TEMPLATE_OPENINGS) + ")")


def from_template(description: str) -> bool:
    """Whether the description still opens with one of the templates' comments."""
    return _OPENING.match(description) is not None
