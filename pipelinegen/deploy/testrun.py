"""One run on a Jenkins controller: job → lint → trigger → follow → collect, keeping partial results.

Until the result-bundle writer (`pipelinegen.results.bundle`) exists, the results are a plain
directory: console.log, build.json, testReport.json, artifacts/…, and summary.json whose
`complete` flag says whether the run got to the end (false after an interrupt or an error).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.deploy.driver import BuildRef, JenkinsDriver, safe_relative, write_bytes, write_json
from pipelinegen.deploy.errors import DeployError

# JUnit reports and logs are what a result bundle needs; other archived files are not downloaded.
DEFAULT_ARTIFACT_PATTERNS = ("*.xml", "*.json", "*.log", "*.log.xz", "*.txt", "*.html", "bundle.tar.zst")


@dataclass(frozen=True)
class RunRequest:
    job: str
    config_xml: str
    parameters: dict[str, str]
    out_dir: Path
    jenkinsfile: str | None = None  # validated with the server's linter first when given
    artifact_patterns: tuple[str, ...] = DEFAULT_ARTIFACT_PATTERNS
    queue_timeout_s: float = 3600.0
    build_timeout_s: float = 86400.0
    poll_s: float = 2.0


@dataclass
class RunOutcome:
    build: BuildRef | None = None
    result: str | None = None
    totals: dict[str, int] = field(default_factory=dict)
    complete: bool = False
    files: list[str] = field(default_factory=list)
    error: str = ""


def report_totals(report: dict | None) -> dict[str, int]:
    if not report:
        return {"passed": 0, "failed": 0, "skipped": 0, "total": 0}
    passed, failed, skipped = (int(report.get(k, 0)) for k in ("passCount", "failCount", "skipCount"))
    return {"passed": passed, "failed": failed, "skipped": skipped, "total": passed + failed + skipped}


def wanted(relative_path: str, patterns: tuple[str, ...]) -> bool:
    name = relative_path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def run_on_jenkins(driver: JenkinsDriver, req: RunRequest, echo: Callable[[str], None] = lambda _s: None,
                   console: Callable[[str], None] | None = None) -> RunOutcome:
    """Run the job once and download its results into req.out_dir; never loses what was fetched.

    *echo* gets progress lines; *console* gets the build's console text as it arrives (default: echo).
    """
    out = RunOutcome()
    req.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        if req.jenkinsfile is not None:
            errors = driver.validate_jenkinsfile(req.jenkinsfile)
            if errors:
                raise DeployError("the server's declarative linter rejected generated/Jenkinsfile:\n  "
                                  + "\n  ".join(errors))
            echo("Jenkinsfile validated by the server's declarative linter")
        echo(f"job {req.job}: {driver.upsert_job(req.job, req.config_xml)}")
        queue_id = driver.trigger(req.job, req.parameters)
        echo(f"queued as item {queue_id}")
        out.build = driver.wait_for_build(req.job, queue_id, req.queue_timeout_s, req.poll_s)
        echo(f"build {out.build.job} #{out.build.number} started {out.build.url}")
        console_log = req.out_dir / "console.log"
        out.files.append(console_log.name)
        driver.stream_console(out.build, console_log, req.poll_s, on_text=console or echo)
        info = driver.wait_result(out.build, req.build_timeout_s, req.poll_s)
        out.result = info.get("result")
        write_json(req.out_dir / "build.json", info)
        out.files.append("build.json")
        report = driver.test_report(out.build)
        if report is not None:
            write_json(req.out_dir / "testReport.json", report)
            out.files.append("testReport.json")
        out.totals = report_totals(report)
        for artifact in info.get("artifacts", []):
            rel = artifact["relativePath"]
            if not wanted(rel, req.artifact_patterns):
                continue
            target = req.out_dir / "artifacts" / safe_relative(rel)
            write_bytes(target, driver.download_artifact(out.build, rel))
            out.files.append(f"artifacts/{rel}")
        out.complete = True
        return out
    except BaseException as err:  # KeyboardInterrupt/SystemExit included: the summary still says so
        out.error = str(err) or type(err).__name__
        raise
    finally:
        write_json(req.out_dir / "summary.json", {
            "complete": out.complete, "error": out.error, "job": req.job, "parameters": req.parameters,
            "build": out.build.number if out.build else None, "url": out.build.url if out.build else "",
            "result": out.result, "totals": out.totals, "files": sorted(out.files)})
