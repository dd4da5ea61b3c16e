"""The plan: every cell that runs for given parameters."""

from pipelinegen.plan.cell import Cell, Checkout, Parameters, Plan
from pipelinegen.plan.expand import build_plan, cell_universe, is_post_commit

__all__ = ["Cell", "Checkout", "Parameters", "Plan", "build_plan", "cell_universe", "is_post_commit"]
