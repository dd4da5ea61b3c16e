"""`pipelinegen validate`: every offline layer, in order, into one list of findings.

1 pipeline.yaml semantics (semantics.py) -> generated/ up to date (pipelinegen.generate.check) ->
2+3 declarative rules and the Groovy 2.4 syntax gate (pipelinegen.lint, one JVM for every file) ->
4 size guard (sizes.py) -> 5 execution harness vs build_plan (execution.py + differential.py, one JVM).
A layer that cannot run because an earlier one failed is skipped and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen import generate
from pipelinegen.errors import Finding
from pipelinegen.generate import compile_advice, stale_advice
from pipelinegen.lint.engine import lint_paths
from pipelinegen.load.discovery import RECORDED_OVERLAYS_FILE, overlay_mismatch
from pipelinegen.validate import differential, origin, semantics, sizes
from pipelinegen.validate.execution import HarnessProcess, start_harness


@dataclass
class RunSummary:
    case: str
    cells: int
    result: str
    differences: int


@dataclass
class ValidateReport:
    findings: list[Finding] = field(default_factory=list)
    sizes: list[sizes.FileSize] = field(default_factory=list)
    runs: list[RunSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    likely_cause: str = ""  # when one known cause explains most findings (e.g. another overlay set)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def as_dict(self) -> dict:
        return {
            "findings": [f.as_dict() for f in self.findings],
            "sizes": [s.__dict__ for s in self.sizes],
            "runs": [r.__dict__ for r in self.runs],
            "skipped": self.skipped,
        }


def validate(pipeline_path: Path, overlays: tuple[Path, ...] = (), generated_dir: Path = Path(generate.GENERATED_DIR),
             custom_regexps: tuple[str, ...] = (), harness: bool = True,
             progress: Callable[[str], None] = lambda stage: None) -> ValidateReport:
    """Every layer in order; *progress* hears the name of each before it starts (a terminal shows it)."""
    report = ValidateReport()
    progress("1/5 pipeline.yaml semantics")
    pipeline, findings = semantics.load_checked(pipeline_path, overlays)
    report.findings += findings
    for pattern in custom_regexps:
        report.findings += semantics.check_custom_regexp(pattern)
    if pipeline is None:
        report.skipped.append("generated files, Groovy and harness: pipeline.yaml does not load")
        return report
    jenkinsfile = generated_dir / "Jenkinsfile"
    if not jenkinsfile.is_file():
        hint = f"run `{compile_advice(tuple(overlays), generated_dir)}`"
        report.findings.append(Finding(str(jenkinsfile), None, "missing", hint=hint, rule="stale"))
        report.skipped.append("Groovy and harness: no generated Jenkinsfile")
        return report
    mismatch = overlay_mismatch(pipeline.overlays, generated_dir)
    library = generated_dir / "library"
    groovy_files = sorted(library.rglob("*.groovy")) if library.is_dir() else []
    cases = differential.default_cases(pipeline) + differential.regexp_cases(pipeline, custom_regexps)
    progress("2/5 generated/ up to date")
    staleness = generate.check(generate.render_all(pipeline, pipeline_path.parent), generated_dir)
    # The harness EXECUTES generated/: only files exactly as compile writes them from pipeline.yaml (a stale or
    # edited file, e.g. in a contributor's branch, could hold any Groovy). It starts now and runs while the lint
    # JVM does (it is cancelled when the Groovy does not compile): on 2 cores that overlap saves wall time.
    running = start_harness(differential.harness_runs(pipeline, cases), jenkinsfile, pipeline_path.parent,
                            (jenkinsfile, *groovy_files)) if harness and not mismatch and not staleness.stale else None
    try:
        return _validate_started(report, pipeline, pipeline_path, overlays, generated_dir, jenkinsfile, groovy_files,
                                 cases, mismatch, harness, running, progress, staleness)
    finally:
        if running is not None:
            running.cancel()  # a no-op once its result was read


def _validate_started(report: ValidateReport, pipeline, pipeline_path: Path, overlays: tuple[Path, ...],
                      generated_dir: Path, jenkinsfile: Path, groovy_files: list[Path], cases: list,
                      mismatch: str | None, harness: bool, running: HarnessProcess | None,
                      progress: Callable[[str], None], staleness: generate.Staleness) -> ValidateReport:
    for label, names in (("differs from what pipelinegen compile writes now", staleness.changed),
                         ("missing", staleness.missing), ("is no longer generated", staleness.extra)):
        hint = stale_advice(pipeline.overlays, tuple(overlays), generated_dir)
        report.findings += [Finding(str(generated_dir / name), None, label, hint=hint, rule="stale") for name in names]
    if mismatch:  # every harness case would disagree on the fork's cells: say the cause once instead
        advice = stale_advice(pipeline.overlays, tuple(overlays), generated_dir)
        report.likely_cause = f"{mismatch}; {advice}"
        report.findings.insert(0, Finding(str(generated_dir / RECORDED_OVERLAYS_FILE), None, mismatch, rule="overlays",
                                          hint=advice))
    progress(f"3/5 Jenkinsfile rules and Groovy 2.4 syntax ({1 + len(groovy_files)} files)")
    lint_findings = lint_paths([jenkinsfile], groovy_files)
    report.findings += origin.annotate(lint_findings, pipeline_path)
    progress("4/5 sizes")
    report.sizes = sizes.measure(generated_dir)
    if any(f.rule == "groovy-syntax" for f in lint_findings):
        report.findings += sizes.size_findings(report.sizes)
        report.skipped.append("harness and bytecode sizes: the generated Groovy does not compile")
        return report
    if mismatch:
        report.findings += sizes.size_findings(report.sizes)
        report.skipped.append("harness: generated/ was compiled with another overlay set (see the first finding)")
        return report
    if harness and staleness.stale:
        report.findings += sizes.size_findings(report.sizes)
        report.skipped.append("harness and bytecode sizes: generated/ is stale, and the harness runs only what "
                              "`pipelinegen compile` writes (a stale or edited file could hold any code)")
        return report
    if not harness or running is None:
        report.findings += sizes.size_findings(report.sizes)
        report.skipped.append("harness and bytecode sizes: --no-harness")
        return report
    progress(f"5/5 execution harness: {len(cases)} parameter sets under Groovy 2.4")
    results, methods = running.result()
    report.sizes = sizes.with_bytecode(report.sizes, methods)
    report.findings += sizes.size_findings(report.sizes)
    for case, expected, result in zip(cases, differential.expected_plans(pipeline, cases), results, strict=True):
        differences = differential.compare(case.name, expected, result, pipeline, case.exhaust_retries)
        report.findings += differences
        report.runs.append(RunSummary(case.name, len(result.cells()), result.result, len(differences)))
    return report
