"""Core commands: compile, plan, schema. (Being written: see issue 2.)"""

from __future__ import annotations

commands: list = []
