"""What a run knows about the world it decides in, the same for every issue of the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exception_bot.domain.model import User
from exception_bot.domain.people import Directory
from exception_bot.domain.rendering import Renderer
from exception_bot.domain.settings import Config


@dataclass(frozen=True)
class Context:
    config: Config
    directory: Directory
    bot: User
    now: datetime  # read once, by the CLI or the daemon: the review reads no clock
    renderer: Renderer  # the shell's templates: the review reads no file
