"""Moved to :mod:`exception_bot.review` (aftercare, register_entry, states); kept for
the importers not yet updated."""

from exception_bot.review.states import AFTERCARE, ARCHIVED, REGISTERED

__all__ = ["AFTERCARE", "ARCHIVED", "REGISTERED"]
