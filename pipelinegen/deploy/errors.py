"""Errors of the deploy stage that a user can act on (the CLI prints them without a traceback)."""

from __future__ import annotations


class DeployError(Exception):
    """Something outside our input went wrong (server, cluster, binary); the message says what to do."""


class AuthError(DeployError):
    """Jenkins refused the credentials (401) or the user lacks a permission (403)."""


class MissingTool(DeployError):
    """A binary or a kube context the command needs is missing: bad usage (exit 2), like lint without Java."""
