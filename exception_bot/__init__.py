"""exception_bot: runs a security policy exception process on GitLab."""

from importlib.metadata import PackageNotFoundError, version

# pyproject.toml is the one place the version is written; the installed package's metadata
# carries it here (an editable install too, as of its last `pip install`).
try:
    __version__ = version("exception-bot")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
