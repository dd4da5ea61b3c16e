"""The plan: every cell that runs for given parameters."""

from pipelinegen.plan.cell import Cell, Checkout, Parameters, Plan

__all__ = ["Cell", "Checkout", "Parameters", "Plan"]
