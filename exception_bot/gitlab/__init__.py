"""The GitLab adapter: the only package that imports ``gitlab`` (python-gitlab)."""
