"""A fork declares its overlays once (pipelinegen.overlays.yaml) and every command uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelinegen.cli import main
from pipelinegen.errors import Finding, flood_summary
from pipelinegen.load import load_pipeline
from pipelinegen.results.identity import model_identity

FORK_OVERLAY = """\
resources:
  - {name: big, label: "fork-{arch}-big", cpu: 4, memory_gb: 8}
steps:
  - {name: fork-it, kind: test, splits: 3, resource: big, command: "fork.sh {split}"}
profiles:
  - {name: fork-nightly, steps: [fork-it]}
"""


@pytest.fixture
def fork(project: Path) -> Path:
    """The minimal project as a fork: an overlay under ci/, declared in pipelinegen.overlays.yaml."""
    (project / "ci").mkdir()
    (project / "ci" / "fork.yaml").write_text(FORK_OVERLAY)
    (project / "pipelinegen.overlays.yaml").write_text("overlays:\n  - ci/fork.yaml\n")
    return project


def _ok(runner, fork, *args):
    result = runner.invoke(main, ["-C", str(fork), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--profile", "fork-nightly"], "fork-it jdk17 3/3"),
        (["explain", "--profile", "fork-nightly"], "fork-it jdk17 3/3"),
        (["run", "--dry-run", "--profile", "fork-nightly"], "fork-it jdk17 3/3"),
        (["estimate", "--profile", "fork-nightly", "--agents", "small=4,big=2"], "fork-it_jdk17_3of3"),
        (["jobs"], "fork-nightly"),
        (["clone", "requirements"], "fork-amd64-big"),
    ],
)
def test_every_command_sees_the_declared_overlay_without_a_flag(fork, runner, args, expected):
    _ok(runner, fork, "compile")
    output = _ok(runner, fork, *args)
    assert expected in output
    assert "was compiled with" not in output


def test_splits_reads_the_forks_split_count_and_knows_its_step(fork, runner, tmp_path):
    tests = tmp_path / "tests.txt"
    tests.write_text("a\nb\nc\nd\n")
    output = _ok(runner, fork, "splits", "--step", "fork-it", "--list", str(tests), "--dry-run")
    assert "fork-it: 3 splits" in output and "not a step" not in output


def test_compile_records_the_overlay_set_and_check_passes_without_flags(fork, runner):
    _ok(runner, fork, "compile")
    record = (fork / "generated" / ".pipelinegen-overlays").read_text()
    assert [line for line in record.splitlines() if line.startswith("overlay: ")] == ["overlay: ci/fork.yaml"]
    assert "steps: unit" in record.splitlines()  # upstream's own names, to explain a later rename
    assert "up to date" in _ok(runner, fork, "compile", "--check")
    assert "fork-it" in (fork / "generated" / "library/resources/pipelinegen/plan.json").read_text()


def test_a_different_overlay_set_is_named_in_one_line(fork, runner):
    _ok(runner, fork, "compile")
    (fork / "pipelinegen.overlays.yaml").unlink()  # e.g. a checkout of upstream, or the file not yet merged
    result = runner.invoke(main, ["-C", str(fork), "plan", "--profile", "smoke"])
    assert result.exit_code == 0
    notes = [line for line in result.output.splitlines() if "was compiled with" in line]
    assert notes == [
        "note: generated/ was compiled with ci/fork.yaml; this command uses no overlay "
        "(list a fork's overlays once in pipelinegen.overlays.yaml, or pass the same --overlay)"
    ]
    checked = runner.invoke(main, ["-C", str(fork), "compile", "--check"])
    assert checked.exit_code == 1 and "generated/ was compiled with ci/fork.yaml" in checked.output


def test_validate_names_the_overlay_mismatch_first_and_does_not_flood(fork, runner):
    _ok(runner, fork, "compile")
    (fork / "pipelinegen.overlays.yaml").unlink()
    result = runner.invoke(main, ["-C", str(fork), "validate"])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith("generated/.pipelinegen-overlays: error: generated/ was compiled with ci/fork.yaml")
    assert "harness: generated/ was compiled with another overlay set" in result.output  # not 1000s of diffs


def test_explicit_overlay_adds_to_the_declared_ones_and_is_not_applied_twice(fork, runner):
    (fork / "extra.yaml").write_text("steps:\n  - {name: fork-it, splits: 4}\n")
    pipeline = load_pipeline(fork / "pipeline.yaml", [fork / "extra.yaml"])
    assert pipeline.step("fork-it").splits == 4  # --overlay applies after the declared overlays: it wins
    assert pipeline.overlays == ("ci/fork.yaml", "extra.yaml")
    again = load_pipeline(fork / "pipeline.yaml", [fork / "ci" / "fork.yaml"])  # a CI script still passing it
    assert again.overlays == ("ci/fork.yaml",)


def test_result_identity_covers_the_overlays_file_and_the_overlay(fork):
    identity = model_identity(load_pipeline(fork / "pipeline.yaml"), fork / "pipeline.yaml")
    paths = [entry["path"] for entry in identity["files"]]
    assert "pipelinegen.overlays.yaml" in paths and "ci/fork.yaml" in paths
    before = identity["sha256"]
    (fork / "ci" / "fork.yaml").write_text(FORK_OVERLAY.replace("splits: 3", "splits: 5"))
    assert model_identity(load_pipeline(fork / "pipeline.yaml"), fork / "pipeline.yaml")["sha256"] != before


def test_thousands_of_findings_print_twenty_then_a_count_and_the_cause():
    findings = [Finding(file="generated/Jenkinsfile", line=None, message=f"case {i}: differs", rule="harness-differs")
                for i in range(2800)]
    lines = flood_summary(findings, cause="generated/ was compiled with acme.yaml")
    assert lines == ["... 2,780 more not shown (2,800 findings; --format json lists every one)",
                     "likely cause of 2,800 findings: generated/ was compiled with acme.yaml"]
    assert flood_summary(findings[:20]) == []
    alike = flood_summary(findings)
    assert alike[1] == "most are alike: 2,800 in generated/Jenkinsfile, 2,800 [harness-differs] — fix the first ones shown and run again"


def test_a_bad_overlay_with_many_errors_prints_at_most_twenty(project, runner):
    overlay = project / "many.yaml"
    overlay.write_text("steps:\n" + "".join(f"  - {{name: gone{i}, $remove: true}}\n" for i in range(60)))
    result = runner.invoke(main, ["-C", str(project), "plan", "--overlay", "many.yaml"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert sum("is not in pipeline.yaml" in line for line in lines) == 20
    assert "... 40 more not shown (60 findings)" in result.output and lines[-1] == "60 errors; nothing was written."


def test_json_report_of_validate_keeps_every_finding(fork, runner):
    _ok(runner, fork, "compile")
    (fork / "pipelinegen.overlays.yaml").unlink()
    result = runner.invoke(main, ["-C", str(fork), "validate", "--no-harness", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["findings"][0]["rule"] == "overlays"


def test_stale_advice_offers_to_keep_the_overlays_a_checkout_lost(fork, runner):
    _ok(runner, fork, "compile")
    (fork / "pipelinegen.overlays.yaml").unlink()
    checked = runner.invoke(main, ["-C", str(fork), "compile", "--check"])
    last = checked.output.splitlines()[-1]
    assert last == ("generated/ is stale: to keep the overlays generated/ was compiled with, list them in "
                    "pipelinegen.overlays.yaml (or run `pipelinegen compile --overlay ci/fork.yaml`); "
                    "`pipelinegen compile` compiles with no overlay instead.")


def test_flaky_repeats_uses_the_forks_declared_split_count(tmp_path, runner):
    """`flaky repeats` spreads a changed test's repeats over the fork's split count, with no --overlay."""
    import shutil
    import subprocess

    from tests.conftest import REPO

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    shutil.copy(REPO / "pipeline.yaml", tmp_path / "pipeline.yaml")
    (tmp_path / "fork.yaml").write_text("steps:\n  - {name: test, splits: 5}\n")
    (tmp_path / "pipelinegen.overlays.yaml").write_text("overlays: [fork.yaml]\n")
    git("init", "-q", "-b", "trunk")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (tmp_path / "test/unit/org/acme").mkdir(parents=True)
    (tmp_path / "test/unit/org/acme/AcmeTest.java").write_text("class AcmeTest {}")
    git("add", ".")
    git("commit", "-q", "-m", "a test")
    result = runner.invoke(main, ["-C", str(tmp_path), "flaky", "repeats", "--base", "trunk", "--json"])
    assert result.exit_code == 0, result.output
    [unit] = [r for r in json.loads(result.stdout)["repeats"] if r["step"] == "test"]
    assert len(unit["per_split"]) == 5  # the fork's 5 splits, not upstream's 20


def test_a_mistyped_overlay_path_gets_a_did_you_mean(fork):
    from pipelinegen.errors import PipelineError

    (fork / "pipelinegen.overlays.yaml").write_text("overlays:\n  - ci/frok.yaml\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(fork / "pipeline.yaml")
    [finding] = caught.value.findings
    assert (finding.line, finding.message, finding.hint) == (2, "'ci/frok.yaml': file not found", "did you mean 'ci/fork.yaml'?")


def test_lint_text_output_stops_at_twenty_findings():
    from pipelinegen.lint.formats import render_text

    findings = [Finding(file="Jenkinsfile", line=n, message="unknown step 'x'", rule="unknown-step") for n in range(1, 51)]
    lines = render_text(findings, ["Jenkinsfile"]).splitlines()
    assert sum(line.startswith("Jenkinsfile:") for line in lines) == 20
    assert lines[20] == "... 30 more not shown (50 findings; --format json lists every one)"
