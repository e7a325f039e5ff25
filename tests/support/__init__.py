"""Helpers shared by tests of several kinds."""
