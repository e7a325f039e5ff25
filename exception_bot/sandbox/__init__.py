"""A local, stateful GitLab REST API for the demo, the end-to-end tests and the benchmark.

python-gitlab talks to it over real HTTP, unchanged. See :class:`Sandbox`; seeds (users,
groups, projects, issues, files, merge requests) are read by :func:`read_seed`.
"""

from exception_bot.sandbox.control import Sandbox
from exception_bot.sandbox.seed import DEMO, Seed, SeedError
from exception_bot.sandbox.seed import read as read_seed

__all__ = ["DEMO", "Sandbox", "Seed", "SeedError", "read_seed"]
