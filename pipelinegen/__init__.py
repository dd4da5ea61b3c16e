"""pipelinegen: one pipeline.yaml per branch -> declarative Jenkinsfile, shared library, local runs, results."""

__version__ = "0.1.0"
