"""`pipelinegen splits`: from JUnit timings to split files the sample project's run-tests.sh reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-project"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    # Run away from the repository's own pipeline.yaml (the Cassandra one), which `splits` would read.
    monkeypatch.chdir(tmp_path)


def _junit(directory: Path, durations: dict[str, float]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for cls, seconds in durations.items():
        (directory / f"TEST-{cls}.xml").write_text(
            f'<testsuite name="{cls}"><testcase classname="{cls}" name="t" time="{seconds}"/></testsuite>'
        )


def test_splits_from_junit_balance_by_duration_and_list_every_test(tmp_path):
    durations = {"org.A": 600, "org.B": 300, "org.C": 290, "org.D": 10}
    _junit(tmp_path / "junit", durations)
    listing = tmp_path / "tests.txt"
    listing.write_text("org.A\norg.B\norg.C\norg.D\norg.New\n")
    out = tmp_path / "splits"
    result = CliRunner().invoke(
        main,
        [
            "splits",
            "--step",
            "unit",
            "--splits",
            "2",
            "--junit",
            str(tmp_path / "junit"),
            "--list",
            str(listing),
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["method"] == "lpt"
    assert summary["unknown_tests"] == 1  # org.New gets the median, 295 s
    # LPT: {A, D} = 610 s and {B, New, C} = 885 s, the optimum; round-robin by name: {A, C, New} = 1185 s
    assert summary["makespan_seconds"] == 885
    assert summary["round_robin_makespan_seconds"] == 1185
    entries = {
        f.name: [line for line in f.read_text().splitlines() if not line.startswith("#")]
        for f in sorted((out / "unit").glob("*of2.txt"))
    }
    assert sorted(sum(entries.values(), [])) == ["org.A", "org.B", "org.C", "org.D", "org.New"]


def test_split_files_are_what_run_tests_sh_selects(tmp_path):
    # The sample project's script strips '#' comments and blank lines from generated/splits/STEP/KofN.txt.
    _junit(tmp_path / "junit", {"org.A": 5, "org.B": 3, "org.C": 2})
    out = tmp_path / "generated" / "splits"
    result = CliRunner().invoke(
        main,
        ["splits", "--step", "unit", "--splits", "2", "--junit", str(tmp_path / "junit"), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    script = (SAMPLE / ".build" / "run-tests.sh").read_text()
    assert "generated/splits/$step/${k}of${n}.txt" in script
    selected = subprocess.run(
        ["sed", "-e", "s/#.*//", "-e", "s/[[:space:]]*$//", "-e", "/^$/d", str(out / "unit" / "1of2.txt")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert selected == ["org.A"]


def test_target_minutes_suggests_the_count_including_setup(tmp_path):
    _junit(tmp_path / "junit", {f"org.T{i}": 180 for i in range(10)})  # 30 minutes of 3-minute classes

    def suggest(setup: str, out: str):
        result = CliRunner().invoke(
            main,
            [
                "splits",
                "--step",
                "unit",
                "--junit",
                str(tmp_path / "junit"),
                "--target-minutes",
                "10",
                "--setup-minutes",
                setup,
                "-o",
                str(tmp_path / out),
            ],
        )
        assert result.exit_code == 0, result.output
        return result.output

    # no setup: 4 splits of 3+3+3 / 3+3+3 / 3+3 / 3+3 minutes fit 10 minutes
    assert "suggested 4 splits" in suggest("0", "a")
    # 2 minutes of setup leave 8 for tests: 9-minute splits no longer fit, 5 splits of 6 minutes do
    assert "suggested 5 splits" in suggest("2", "b")
    assert len(list((tmp_path / "b" / "unit").glob("*of5.txt"))) == 5


def test_no_timing_data_falls_back_to_round_robin(tmp_path):
    listing = tmp_path / "tests.txt"
    listing.write_text("# comment\nC\nA\nB\n")
    result = CliRunner().invoke(
        main, ["splits", "--step", "unit", "--splits", "2", "--list", str(listing), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "round-robin" in result.output
    first = (tmp_path / "o" / "unit" / "1of2.txt").read_text().splitlines()[1:]
    assert first == ["A", "C"]


def test_usage_errors_exit_2_with_a_hint(tmp_path):
    result = CliRunner().invoke(main, ["splits", "--step", "unit", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "--list" in result.output


def test_split_count_defaults_to_the_pipeline_and_mismatch_is_reported(tmp_path):
    _junit(tmp_path / "junit", {"org.A": 5, "org.B": 3, "org.C": 2})
    args = [
        "splits",
        "--step",
        "unit",
        "--junit",
        str(tmp_path / "junit"),
        "--pipeline",
        str(SAMPLE / "pipeline.yaml"),
    ]
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "a" / "unit").glob("*.txt")) == ["1of2.txt", "2of2.txt"]
    result = CliRunner().invoke(main, [*args, "--splits", "3", "-o", str(tmp_path / "b")])
    assert result.exit_code == 0
    assert "has `splits: 2` for step unit; set it to 3" in result.output


def test_splits_from_a_collected_result_bundle(tmp_path):
    # `results collect` on bare JUnit directories named after the cells, then split by that bundle.
    for cell, cases in {
        "unit_jdk11_1of2": {"org.A": 100, "org.B": 50},
        "unit_jdk11_2of2": {"org.C": 40},
    }.items():
        (tmp_path / "junit" / cell).mkdir(parents=True)
        body = "".join(f'<testcase classname="{c}" name="t" time="{t}"/>' for c, t in cases.items())
        (tmp_path / "junit" / cell / "TEST-x.xml").write_text(f"<testsuite>{body}</testsuite>")
    bundle = tmp_path / "run.tar.zst"
    collected = CliRunner().invoke(
        main,
        [
            "results",
            "collect",
            str(tmp_path / "junit"),
            "--commit",
            "a" * 40,
            "--profile",
            "smoke",
            "--repository",
            "https://example.invalid/x.git",
            "-o",
            str(bundle),
        ],
    )
    assert collected.exit_code == 0, collected.output
    result = CliRunner().invoke(
        main, ["splits", "--bundle", str(bundle), "--step", "unit", "--splits", "2", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["split_seconds"] == [100.0, 90.0]
    assert summary["tests"] == [1, 2]


def test_warnings_for_missing_list_and_mismatched_names(tmp_path):
    _junit(tmp_path / "junit", {"org.example.ATest": 5, "org.example.BTest": 3})
    base = ["splits", "--step", "unit", "--splits", "2", "--junit", str(tmp_path / "junit"), "--dry-run"]
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 0
    assert "no --list" in result.output
    listing = tmp_path / "tests.txt"
    listing.write_text("test/unit/org/example/ATest.java\ntest/unit/org/example/BTest.java\n")
    result = CliRunner().invoke(main, [*base, "--list", str(listing)])
    assert result.exit_code == 0
    assert "2 of 2 listed tests have no timing" in result.output
    assert "e.g. org.example.ATest" in result.output


def test_a_mistyped_step_is_warned_about_with_a_suggestion(tmp_path):
    _junit(tmp_path / "junit", {"org.A": 5, "org.B": 3})
    result = CliRunner().invoke(main, ["splits", "--step", "unti", "--junit", str(tmp_path / "junit"), "--splits",
                                       "2", "--pipeline", str(SAMPLE / "pipeline.yaml"), "-o", str(tmp_path / "o")])
    assert "--step 'unti' is not a step of" in result.output and "did you mean 'unit'?" in result.output
    result = CliRunner().invoke(main, ["splits", "--step", "unit", "--junit", str(tmp_path / "junit"), "--splits",
                                       "2", "--pipeline", str(SAMPLE / "pipeline.yaml"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0 and "is not a step" not in result.output
