"""Commands of the deploy stage: `jobs`, `test-on-clone`, `clone list|delete|requirements|render`."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from pipelinegen.cli.options import (
    load_selected,
    output_option,
    parameter_options,
    parameters_from,
    pipeline_options,
)
from pipelinegen.deploy.build_bundle import write_build_bundle
from pipelinegen.deploy.clone import render_clone_spec
from pipelinegen.deploy.cluster import node_pool_problems, nodes_from_json, requirements_text
from pipelinegen.deploy.crd import load_crd, parse_crd
from pipelinegen.deploy.credentials import load_credentials, url_without_secrets
from pipelinegen.deploy.driver import JenkinsDriver
from pipelinegen.deploy.errors import DeployError, MissingTool
from pipelinegen.deploy.jobs import render_jobs
from pipelinegen.deploy.k8s import PROVIDERS, Clone, Kube, new_clone_name
from pipelinegen.deploy.spec import job_name, spec_from_pipeline
from pipelinegen.deploy.testrun import RunRequest, run_on_jenkins
from pipelinegen.deploy.validate import validate_clone
from pipelinegen.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED
from pipelinegen.fsutil import atomic_write_text
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.plan import build_plan
from pipelinegen.plan.cell import Parameters
from pipelinegen.plan.expand import is_post_commit
from pipelinegen.render.plan_data import JENKINS_BUNDLE, RESULTS_ROOT
from pipelinegen.results.identity import model_identity

JENKINSFILE = Path("generated/Jenkinsfile")
EXIT_INTERRUPTED = 130
OPERATOR_CRD = "jenkins.jenkins.io"


def _err(message: str) -> None:
    click.echo(message, err=True)


def deploy_errors(func: Callable) -> Callable:
    """DeployError -> its message and exit 1 (the server or cluster failed), MissingTool -> exit 2 (a binary
    or kube context to install or choose, as for every command), never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MissingTool as err:
            _err(f"error: {err}")
            sys.exit(EXIT_BAD_INPUT)
        except DeployError as err:
            _err(f"error: {err}")
            sys.exit(EXIT_CHECK_FAILED)

    return wrapper


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling us) unwinds like Ctrl-C, so `finally` tears the clone down."""

    def handler(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def job_parameter_values(pipeline: Pipeline, params: Parameters, repository: str, branch: str) -> dict[str, str]:
    """The values sent to buildWithParameters: only what the user chose; the job's defaults do the rest."""
    values = {"repository": repository, "branch": branch, "profile": params.profile}
    if params.custom_regexp:
        values["profile_custom_regexp"] = params.custom_regexp
    # As the plan reads them (plan.expand.axis_selection): --arch/--jdk name the job parameters
    # `architecture`/`jdk`; any other axis parameter comes as --param NAME=VALUE.
    given = {"architecture": params.architecture, "jdk": params.jdk}
    for axis in pipeline.axes:
        if axis.parameter and given.get(axis.parameter):
            values[axis.parameter] = given[axis.parameter]
    values.update(dict(params.extra))
    return values


# ---- jobs -------------------------------------------------------------------------------------------
@click.command("jobs")
@pipeline_options
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Write DIR/<job>.xml (default: print the XML).")
@click.option("--branch", "branches", multiple=True, help="Only this branch's job (repeatable).")
@click.option("--repository", default="", help="SCM of the jobs (default: canonical_repository).")
@click.option("--no-polling", is_flag=True, help="No post-commit SCM polling (e.g. for a test clone).")
@click.option("--jenkins-url", help="Also create or update the jobs on this Jenkins.")
@click.option("--user", help="Jenkins user (or $JENKINS_USER); the token comes from $JENKINS_TOKEN or --token-file.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="File holding the API token.")
@deploy_errors
def jobs_command(pipeline_path: Path, overlays: tuple[Path, ...], output: Path | None, branches: tuple[str, ...],
                 repository: str, no_polling: bool, jenkins_url: str | None, user: str | None,
                 token_file: Path | None) -> None:
    """The Jenkins pipeline job of every branch in pipeline.yaml, rendered by jenkins-job-builder."""
    spec = spec_from_pipeline(load_selected(pipeline_path, overlays))
    rendered = render_jobs(spec, branches=branches or None, repository=repository, polling=not no_polling)
    if output is None and not jenkins_url:
        for name, xml in rendered.items():
            click.echo(f"<!-- job: {name} -->\n{xml}")
    if output is not None:
        for name, xml in rendered.items():
            atomic_write_text(output / f"{name}.xml", xml)
            click.echo(f"wrote {output / f'{name}.xml'}")
    if jenkins_url:
        driver = JenkinsDriver(url_without_secrets(jenkins_url), load_credentials(user, token_file), progress=_err)
        for name, xml in rendered.items():
            click.echo(f"{name}: {driver.upsert_job(name, xml)} on {driver.url}")


# ---- test-on-clone -----------------------------------------------------------------------------------
@click.command("test-on-clone")
@pipeline_options
@parameter_options
@click.option("--provider", type=click.Choice(PROVIDERS), default="helm", show_default=True,
              help="How the clone is installed: the jenkins/jenkins Helm chart, or the Jenkins operator's CR.")
@click.option("--jenkins-url", help="Use this existing Jenkins instead of a clone (token from env or file).")
@click.option("--user", help="Jenkins user (or $JENKINS_USER).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="File holding the API token.")
@click.option("--keep", is_flag=True, help="Leave the clone running afterwards (reuse it with --reuse NAME).")
@click.option("--reuse", metavar="NAME", help="Run on the existing clone NAME (no spawn, no teardown).")
@click.option("--teardown-only", metavar="NAME", help="Only delete the clone NAME.")
@click.option("--setup-only", is_flag=True, help="Spawn the clone, wait until it answers, and stop (kept).")
@output_option(dest="results_dir", old=("--download-results",),
              help="Where the results go (default results/test-on-clone/<name>-<time>/).")
@click.option("--crd", type=click.Path(dir_okay=False, path_type=Path),
              help=f"The operator CRD to validate the Jenkins CR with (default: kubectl get crd {OPERATOR_CRD}).")
@click.option("--ingress-host", metavar="HOST[:PORT]", default="",
              help="Reach the controller through an Ingress on HOST (helm provider) instead of kubectl port-forward.")
@click.option("--skip-node-check", is_flag=True, help="Deploy even if no node fits a pod template.")
@click.option("--ready-timeout", type=int, default=None,
              help="Seconds to wait for the controller (default: 900 for a new clone, 60 for a running one).")
@click.option("--poll", "poll_s", default=5.0, show_default=True, help="Seconds between polls of the build.")
@deploy_errors
def test_on_clone_command(pipeline_path: Path, overlays: tuple[Path, ...], profile: str | None, architecture: str,
                          jdk: str, custom_regexp: str, repository: str, branch: str, extra: tuple[str, ...],
                          provider: str, jenkins_url: str | None, user: str | None, token_file: Path | None,
                          keep: bool, reuse: str | None, teardown_only: str | None, setup_only: bool,
                          results_dir: Path | None, crd: Path | None, ingress_host: str, skip_node_check: bool,
                          ready_timeout: int, poll_s: float) -> None:
    """Spawn a throwaway Jenkins clone on the current kube context, run the pipeline, save the results,
    tear the clone down (always: also on Ctrl-C/SIGTERM, unless --keep)."""
    if teardown_only:
        kube = Kube.from_path(need_helm=False, echo=_err)
        kube.current_context()
        kube.teardown(kube.find(teardown_only))
        return
    if ingress_host and (provider != "helm" or jenkins_url or reuse):
        raise click.BadParameter("an Ingress is set up by the helm provider when it spawns a clone",
                                 param_hint="--ingress-host")
    pipeline = load_selected(pipeline_path, overlays)
    spec = spec_from_pipeline(pipeline)
    params = parameters_from(pipeline, profile, architecture, jdk, custom_regexp, repository, branch, extra)
    repository = params.repository or spec.canonical_repository  # the job's SCM
    branch = params.branch or spec.branches[0]
    # What the build will run, as the library decides it: an empty `repository` parameter is the job's SCM. A clone
    # never runs post-commit publish cells (its JCasC marks it); an existing Jenkins does when the job's SCM is canonical.
    plan = build_plan(pipeline, replace(params, repository="" if not jenkins_url else repository))
    if jenkins_url and is_post_commit(pipeline, repository):
        _err(f"warning: the job builds the canonical repository {repository}: this run is post-commit and runs "
             "the publish cells; give --repository FORK for a pre-commit run")
    job = job_name(spec.project, branch)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kube: Kube | None = None
    clone: Clone | None = None
    tear_down = False
    with sigterm_as_interrupt():
        try:
            if jenkins_url:
                url = url_without_secrets(jenkins_url)
                creds = load_credentials(user, token_file)
                out = results_dir or Path("results/test-on-clone") / f"{job}-{stamp}"
            else:
                kube = Kube.from_path(need_helm=provider == "helm" and not reuse, echo=_err)
                _err(f"kube context: {kube.current_context()}")
                if reuse:
                    clone = kube.find(reuse)
                    out = results_dir or Path("results/test-on-clone") / f"{clone.name}-{stamp}"
                else:
                    clone = Clone(new_clone_name(spec.project), provider, spec.project)
                    out = results_dir or Path("results/test-on-clone") / f"{clone.name}-{stamp}"
                    clone_dir = _render_checked_clone(spec, clone, repository, branch, out, crd, kube, ingress_host)
                    if not skip_node_check:
                        _check_nodes(kube, spec, plan)
                    tear_down = not (keep or setup_only)
                    kube.spawn(clone, clone_dir)
                url = f"http://{ingress_host}/" if ingress_host else kube.port_forward(clone)
                creds = (load_credentials(user, token_file) if (token_file or user) else kube.credentials(clone))
            driver = JenkinsDriver(url, creds, progress=_err,
                                   reconnect=kube.revive_port_forward if kube is not None else None)
            existing = kube is None or bool(reuse)  # an existing Jenkins or clone answers at once or not at all
            if ready_timeout is None:
                ready_timeout = 60 if existing else 900
            hint = ("check the URL and that Jenkins is running there" if kube is None
                    else "check the pod and the port-forward")
            _err(f"Jenkins {driver.wait_ready(ready_timeout, hint=hint)} answers at {driver.url}")
            if setup_only:
                click.echo(f"clone {clone.name if clone else url} is ready at {driver.url} (kept). Run on it with "
                           f"`pipelinegen test-on-clone --reuse {clone.name if clone else 'NAME'}`; delete it with "
                           f"`pipelinegen clone delete {clone.name if clone else 'NAME'}`.")
                return
            identity = model_identity(pipeline, pipeline_path)
            _run_and_collect(driver, spec, pipeline, plan, params, job, repository, branch, out, poll_s, identity)
        except KeyboardInterrupt:
            _err("interrupted: results downloaded so far are kept" + (", tearing the clone down" if tear_down else ""))
            sys.exit(EXIT_INTERRUPTED)
        finally:
            if kube is not None:
                kube.stop_port_forwards()
                if tear_down and clone is not None:
                    try:
                        kube.teardown(clone)
                    except DeployError as err:  # never hide the run's own error behind the teardown's
                        _err(f"error: teardown of {clone.name} failed ({err}); "
                             f"retry with `pipelinegen clone delete {clone.name}`")


def _render_checked_clone(spec, clone: Clone, repository: str, branch: str, out: Path, crd: Path | None,
                          kube: Kube, ingress_host: str = "") -> Path:
    files = render_clone_spec(spec, repository=repository, branches=(branch,), name=clone.name,
                              ingress_host=ingress_host)
    crd_data = load_crd(crd) if crd else None
    if crd_data is None and clone.provider == "operator":
        result = kube.kc("get", "crd", OPERATOR_CRD, "-o", "yaml", check=False)
        if result.returncode != 0:
            raise DeployError(f"the Jenkins operator is not installed in this cluster (no CRD {OPERATOR_CRD}); "
                              "install it, or use --provider helm")
        crd_data = parse_crd(result.stdout)
    problems = validate_clone(files, crd_data)
    if problems:
        raise DeployError("the rendered clone is invalid:\n  " + "\n  ".join(problems))
    clone_dir = out / "clone"
    for rel, text in files.items():
        atomic_write_text(clone_dir / rel, text)
    return clone_dir


def _check_nodes(kube: Kube, spec, plan) -> None:
    used = {cell.label for cell in plan.cells}
    agents = [a for a in spec.agents if a.label in used]
    problems = node_pool_problems(agents, nodes_from_json(kube.nodes_json()))
    if problems:
        raise DeployError("the cluster cannot run this plan (see `pipelinegen clone requirements`; "
                          "--skip-node-check deploys anyway):\n  " + "\n  ".join(problems))


def _run_and_collect(driver: JenkinsDriver, spec, pipeline: Pipeline, plan, params: Parameters, job: str,
                     repository: str, branch: str, out: Path, poll_s: float, identity: dict) -> None:
    xml = render_jobs(spec, branches=(branch,), repository=repository, polling=False)[job]
    jenkinsfile = JENKINSFILE.read_text(encoding="utf-8") if JENKINSFILE.is_file() else None
    if jenkinsfile is None:
        _err(f"warning: {JENKINSFILE} not found here; the server's linter is skipped")
    values = job_parameter_values(pipeline, params, repository, branch)
    outcome = run_on_jenkins(driver, RunRequest(job=job, config_xml=xml, parameters=values, out_dir=out,
                                                jenkinsfile=jenkinsfile, poll_s=poll_s), echo=_err,
                             console=lambda text: click.echo(text, err=True, nl=False))
    info = json.loads((out / "build.json").read_text())
    built = out / "artifacts" / RESULTS_ROOT / JENKINS_BUNDLE
    if built.is_file():
        bundle = built  # the certified bundle the build's own summary stage made and archived
    else:  # a library from before the summary stage built bundles, or a build stopped before it
        bundle = write_build_bundle(out / "results.tar.zst", out, plan, params, info, repository, branch,
                                    labels=tuple(sorted({c.label for c in plan.cells})), pipeline_id=identity)
    totals = outcome.totals
    click.echo(f"{job} #{outcome.build.number if outcome.build else '?'}: {outcome.result}; tests: "
               f"{totals.get('total', 0)} ({totals.get('failed', 0)} failed, {totals.get('skipped', 0)} skipped); "
               f"results in {out}/, bundle {bundle}")
    if outcome.result != "SUCCESS":
        sys.exit(EXIT_CHECK_FAILED)


# ---- clone list | delete | requirements | render ----------------------------------------------------
@click.group("clone")
def clone_group() -> None:
    """Clones of the CI on Kubernetes: list, delete, cluster requirements, render the definition."""


@clone_group.command("list")
@deploy_errors
def clone_list() -> None:
    """Clones in the current kube context (namespaces labelled pipelinegen.io/clone=true)."""
    kube = Kube.from_path(need_helm=False, echo=_err)
    kube.current_context()
    clones = kube.list_clones()
    for clone in clones:
        click.echo(f"{clone.name}\t{clone.provider}\t{clone.project}\t{clone.created}")
    if not clones:
        _err("no clones in this context")


@clone_group.command("delete")
@click.argument("names", nargs=-1, required=True)
@deploy_errors
def clone_delete(names: tuple[str, ...]) -> None:
    """Delete clones (orphans included) by name; only labelled pipelinegen namespaces are touched."""
    kube = Kube.from_path(need_helm=False, echo=_err)
    kube.current_context()
    for name in names:
        kube.teardown(kube.find(name))
        click.echo(f"deleted {name}")


@clone_group.command("requirements")
@pipeline_options
def clone_requirements(pipeline_path: Path, overlays: tuple[Path, ...]) -> None:
    """Node pools (per resource class and arch) and storage a cluster needs for this pipeline."""
    click.echo(requirements_text(spec_from_pipeline(load_selected(pipeline_path, overlays))))


@clone_group.command("render")
@pipeline_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--crd", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Validate the Jenkins CR against this operator CRD too.")
@click.option("--repository", default="", help="Point the jobs at this repository (a fork).")
@click.option("--branch", "branches", multiple=True, help="Jobs for these branches only.")
@deploy_errors
def clone_render(pipeline_path: Path, overlays: tuple[Path, ...], output: Path, crd: Path | None,
                 repository: str, branches: tuple[str, ...]) -> None:
    """Render and validate the clone definition (what `compile` writes to generated/clone/)."""
    spec = spec_from_pipeline(load_selected(pipeline_path, overlays))
    files = render_clone_spec(spec, repository=repository, branches=branches or None)
    problems = validate_clone(files, load_crd(crd) if crd else None)
    for problem in problems:
        _err(problem)
    if problems:
        sys.exit(EXIT_BAD_INPUT)
    for rel, text in files.items():
        atomic_write_text(output / rel, text)
    click.echo(f"wrote {len(files)} files under {output}/" + ("" if crd else " (CR not checked: no --crd)"))


# ---- catalogue ---------------------------------------------------------------------------------------
@click.group("catalogue")
def catalogue_group() -> None:
    """The plugin catalogue of a Jenkins controller, for `pipelinegen lint --catalogue` (docs/lint.md)."""


@catalogue_group.command("export")
@click.option("--jenkins-url", required=True, help="The controller whose plugins `lint` should know.")
@click.option("--user", help="Jenkins user (or $JENKINS_USER); the token comes from $JENKINS_TOKEN or --token-file.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="File holding the API token.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the catalogue (JSON) here.")
@deploy_errors
def catalogue_export(jenkins_url: str, user: str | None, token_file: Path | None, output: Path) -> None:
    """Ask a running controller, once, what its declarative validator knows (its script console runs
    pipelinegen/lint/export_catalogue.groovy, read-only; the user needs Overall/Administer)."""
    from pipelinegen.deploy.catalogue_export import export_catalogue

    driver = JenkinsDriver(url_without_secrets(jenkins_url), load_credentials(user, token_file), progress=_err)
    doc = export_catalogue(driver)
    atomic_write_text(output, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    counts = ", ".join(f"{len(doc.get(key, {}))} {key.replace('_', ' ')}"
                       for key in ("plugins", "agent_types", "options", "triggers", "parameters", "tools", "steps"))
    click.echo(f"wrote {output}: {counts}")


commands = [jobs_command, test_on_clone_command, clone_group, catalogue_group]
