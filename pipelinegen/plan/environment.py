"""The environment every cell's step script sees, whatever runs it (docs/scripts.md).

`pipelinegen run` builds it from here; the Jenkins library builds the same entries in Groovy
(`pipelinegenPlan.groovy: describeCell`), and `pipelinegen validate` checks the two agree.
"""

from __future__ import annotations

from pipelinegen.plan.cell import Cell


def axis_env_name(axis: str) -> str:
    """PIPELINEGEN_<AXIS>: the axis name upper-cased, anything but letters and digits as '_'."""
    return "PIPELINEGEN_" + "".join(ch if ch.isalnum() else "_" for ch in axis.upper())


def script_environment(cell: Cell, attempt: int = 1) -> dict[str, str]:
    """Axis values, the cell's identity and split, the attempt, then the step's own env."""
    env = {axis_env_name(name): value for name, value in cell.axes}
    env.update(
        {
            "PIPELINEGEN_CELL_ID": cell.id,
            "PIPELINEGEN_CELL_NAME": cell.name,
            "PIPELINEGEN_STEP": cell.step,
            "PIPELINEGEN_SPLIT": str(cell.split),
            "PIPELINEGEN_SPLITS": str(cell.splits),
            "PIPELINEGEN_ATTEMPT": str(attempt),
        }
    )
    env.update(dict(cell.env))
    return env
