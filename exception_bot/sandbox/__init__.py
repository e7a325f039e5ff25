"""A local, stateful GitLab REST API for the demo, the end-to-end tests and the benchmark.

python-gitlab talks to it over real HTTP, unchanged. See :class:`Sandbox`.
"""

from exception_bot.sandbox.control import Sandbox
from exception_bot.sandbox.seed import DEMO, SeedError

__all__ = ["DEMO", "Sandbox", "SeedError"]
