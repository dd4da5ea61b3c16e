"""Job parameters given to plan/run/explain (`--param`, `--jdk`, `--arch`, `--custom-regexp`) come from whoever
starts a build: each hostile value is refused with exit 2 and a message naming the parameter, or planned."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.attack import run_cli, write_project

REFUSED = [
    ["--param", "repeat_regex=Foo", "--param", "repeat_count=99999999999"],  # a billion repeat cells
    ["--param", "repeat_regex=Foo", "--param", "repeat_count=1e38"],
    ["--param", "repeat_regex=Foo", "--param", "repeat_count=-5"],
    ["--param", "repeat_regex=Foo", "--param", "repeat_count=abc"],
    ["--param", "repeat_regex=Foo", "--param", "repeat_count=0"],
    ["--jdk", "../17"],
    ["--arch", "amd64 || x"],
    ["--profile", "custom", "--custom-regexp", "("],
    ["--profile", "nope\x1b[2J"],
]


@pytest.mark.parametrize("args", REFUSED, ids=lambda a: " ".join(a)[:60])
def test_hostile_job_parameters_are_refused(args: list[str], tmp_path: Path):
    run = run_cli(["plan", *args], write_project(tmp_path / "p"))
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.returncode == 2, run.stderr
    assert "\x1b" not in run.stderr  # a quoted value cannot drive the terminal


def test_the_largest_repeat_count_is_planned(tmp_path: Path):
    run = run_cli(["plan", "--param", "repeat_regex=Foo", "--param", "repeat_count=10000"], write_project(tmp_path / "p"))
    assert run.returncode == 0, run.stderr
    assert "repeat Foo" in run.stdout
