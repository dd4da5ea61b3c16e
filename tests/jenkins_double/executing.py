"""Executing builds for the Jenkins double (tests only, never a real Jenkins).

Plugged in as ``JenkinsDouble.builder``: each triggered build of a pipeline job reads the job's config.xml
(git SCM url, branch, script path) as the controller would, takes a checkout of that branch for the
Jenkinsfile and its shared library, and runs the build through the validate harness's executing mode
(pipelinegen.validate.execution.Execution): the real generated library runs the real cells' commands on a
small pool of simulated agents. The double then serves what that run produced: the console, the result,
the archived artifacts, the junit totals and the git plugin's BuildData (the commit built).

What this cannot show is listed in docs/jenkins-compatibility.md ("The executing harness").
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pipelinegen.validate.execution import (
    Execution,
    HarnessResult,
    HarnessRun,
    SimulatedAgent,
    run_harness_and_measure,
)

from .server import BuildScript


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class ExecutingBuilds:
    """``jd.builder = ExecutingBuilds(work_dir, agents, env, base_url=jd.url)``; ``results`` keeps every run."""

    work: Path
    agents: tuple[SimulatedAgent, ...]
    env: dict[str, str]
    base_url: str = "http://jenkins.invalid/"
    kill: dict[str, int] = field(default_factory=dict)  # cell id -> attempts whose agent is lost mid-command
    results: list[HarnessResult] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)

    def __call__(self, job: str, config_xml: str, parameters: dict[str, str], number: int) -> BuildScript:
        config = etree.fromstring(config_xml.encode("utf-8"))
        url = config.xpath("string(definition/scm/userRemoteConfigs/*/url)")
        branch = config.xpath("string(definition/scm/branches/*/name)") or "*/main"
        script_path = config.xpath("string(definition/scriptPath)") or "Jenkinsfile"
        build_dir = Path(self.work) / f"{job}-{number}"
        checkout = build_dir / "controller-checkout"  # the controller reads the Jenkinsfile and library from here
        checkout.mkdir(parents=True)
        ref = branch[2:] if branch.startswith("*/") else branch
        _git(checkout, "init", "-q", ".")
        _git(checkout, "fetch", "-q", "--no-tags", url, "+refs/heads/*:refs/remotes/origin/*")
        sha = _git(checkout, "rev-parse", f"origin/{ref}^{{commit}}")
        _git(checkout, "checkout", "-q", sha)
        build_url = f"{self.base_url}job/{job}/{number}/"
        run = HarnessRun(
            name=f"{job} #{number}", params=dict(parameters), scm_url=url, scm_branch=branch,
            env={"BUILD_URL": build_url, "JOB_NAME": job, "BUILD_NUMBER": str(number), "JENKINS_URL": self.base_url},
            execute=Execution(build_dir / "run", self.agents, env=dict(self.env), kill=dict(self.kill)),
        )
        [result] = run_harness_and_measure([run], checkout / script_path, checkout, timeout_s=3600)[0]
        self.results.append(result)
        self.roots.append(build_dir / "run")
        archive = build_dir / "run" / "archive"
        artifacts = {p.relative_to(archive).as_posix(): p.read_bytes() for p in sorted(archive.rglob("*")) if p.is_file()}
        tests = result.tests or {"total": 0, "failed": 0, "skipped": 0}
        report = {"_class": "hudson.tasks.junit.TestResult", "failCount": tests["failed"], "skipCount": tests["skipped"],
                  "passCount": tests["total"] - tests["failed"] - tests["skipped"]}
        console = (build_dir / "run" / "console.log").read_text(encoding="utf-8", errors="replace")
        return BuildScript(
            console_chunks=[console], result=result.result, test_report=report, artifacts=artifacts, queue_polls=0,
            actions=[{"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": sha},
                      "remoteUrls": [url]}],
        )
