"""The plan: every cell that runs for given parameters."""

from pipelinegen.plan.cell import Cell, Checkout, Parameters, Plan, read_plan_file

__all__ = ["Cell", "Checkout", "Parameters", "Plan", "build_plan", "cell_universe", "default_profile", "is_post_commit",
           "parameters_for", "read_plan_file"]

_EXPAND = ("build_plan", "cell_universe", "default_profile", "is_post_commit", "parameters_for")


def __getattr__(name: str):
    # plan.expand pulls in load (YAML, JSON Schema: ~0.1 s): imported on first use, so readers of results
    # that only need the Cell/Parameters types (history ingest, results verify) start without it.
    if name in _EXPAND:
        from pipelinegen.plan import expand

        return getattr(expand, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
