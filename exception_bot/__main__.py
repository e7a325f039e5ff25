"""``python -m exception_bot``: the same as the ``exception-bot`` command."""

from exception_bot.cli import app

app()
