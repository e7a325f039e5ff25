"""Moved to :mod:`exception_bot.review`, the pure core's review of one request; kept
for the importers not yet updated."""

from exception_bot.review import Outcome, decide

__all__ = ["Outcome", "decide"]
