"""How the core gets the text of what it writes: from a renderer the shell hands it.

The review decides what to say, as a template's name and the values it shows; turning that
into Markdown takes Jinja2 and the template files inside the package, which is reading files,
so the shell does it (:mod:`exception_bot.render`) and passes itself in, in the review's
:class:`~exception_bot.domain.review.context.Context`. What the renderer returns is final: the
body GitLab receives, user text made inert, no line GitLab would run as a quick action.
"""

from __future__ import annotations

from typing import Protocol

from exception_bot.domain.report import WeeklyReport
from exception_bot.domain.settings import Config


class Renderer(Protocol):
    def render_note(self, template: str, marker: str, **context: object) -> str:
        """A comment body: the comment template ``template`` filled with ``context``, ending
        with its hidden ``marker``."""
        ...

    def render_report(self, report: WeeklyReport) -> str:
        """The weekly report issue's description, ending with the report's marker."""
        ...

    def renewal_template(self, config: Config) -> str:
        """The *Exception Renewal* issue template for this config, as GitLab offers it."""
        ...
