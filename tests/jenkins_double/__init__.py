"""A test double of the Jenkins REST API (tests only): see server.py."""

from .server import BuildScript, JenkinsDouble

__all__ = ["BuildScript", "JenkinsDouble"]
