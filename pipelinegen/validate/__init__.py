"""validate stage of the pipelinegen data flow (see docs/architecture.md)."""
