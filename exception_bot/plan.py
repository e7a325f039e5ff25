"""Moved to :mod:`exception_bot.review.context`; kept for the importers not yet
updated."""

from exception_bot.review.context import Context

__all__ = ["Context"]
