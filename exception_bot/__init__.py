"""exception_bot: runs a security policy exception process on GitLab."""

__version__ = "0.1.0"
