"""validate stage of the pipelinegen data flow (see docs/architecture.md)."""

# pipelinegen.load and pipelinegen.model import each other; entering through load first keeps
# `import pipelinegen.validate.<module>` working whatever the caller imported before.
import pipelinegen.load  # noqa: F401
