"""What `pip install pipelinegen` gives a user: the sdist and wheel, built from a clean checkout (the files git
tracks, nothing else), pass `twine check`; the wheel installed in a fresh venv compiles the sample project and
this repository's pipeline.yaml byte for byte like the editable install; a resource missing from an
installation is a loud error, never a generated/ with fewer files.

Offline and fast: `python -m build --no-isolation` uses this venv's setuptools, and the fresh venv gets only
the wheel (`pip install --no-deps --no-index`), its dependencies through a .pth line naming this venv's
site-packages (a directory named in a .pth file is not scanned for .pth files, so the editable install's
finder stays out).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

EDITABLE_PIPELINEGEN = Path(sys.executable).parent / "pipelinegen"
LIBRARY_IN_PACKAGE = "pipelinegen/render/shared_library"


@dataclass(frozen=True)
class Installed:
    checkout: Path  # the clean copy the distributions were built from
    wheel: Path
    sdist: Path
    venv: Path

    @property
    def pipelinegen(self) -> Path:
        return self.venv / "bin" / "pipelinegen"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_NO_INPUT"] = "1"
    return env


def _run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def clean_checkout(destination: Path) -> Path:
    """The files git tracks (as in the work tree: uncommitted edits included), symlinks kept as symlinks."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode("utf-8").split("\0")):
        source = REPO / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet committed
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    work = tmp_path_factory.mktemp("dist")
    checkout = clean_checkout(work / "checkout")
    dist = work / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, checkout)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
         "--quiet", "--no-deps", "--no-index", "--no-compile", wheel)
    site = Path(_run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "_pipelinegen_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Installed(checkout=checkout, wheel=wheel, sdist=sdist, venv=venv)


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _compile_both(installed: Installed, project: Path, work: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """generated/ of *project* compiled by the editable install and by the wheel, each in its own copy."""
    trees = []
    for name, pipelinegen in (("editable", EDITABLE_PIPELINEGEN), ("wheel", installed.pipelinegen)):
        copy = work / name
        shutil.copytree(project, copy, symlinks=True)
        shutil.rmtree(copy / "generated", ignore_errors=True)
        _run(pipelinegen, "-C", copy, "compile")
        trees.append(_tree(copy / "generated"))
    return trees[0], trees[1]


def test_distributions_pass_twine_check_and_carry_the_library_and_metadata(installed):
    _run(sys.executable, "-m", "twine", "check", "--strict", installed.wheel, installed.sdist)
    library = sorted(p.relative_to(REPO / "library").as_posix() for p in (REPO / "library").rglob("*") if p.is_file())
    assert "resources/pipelinegen/run-cell.sh" in library and "vars/pipelinegenCells.groovy" in library
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    with tarfile.open(installed.sdist) as sdist:
        sdist_names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    for relative in library:
        assert f"{LIBRARY_IN_PACKAGE}/{relative}" in names, f"the wheel lacks library/{relative}"
        assert f"{LIBRARY_IN_PACKAGE}/{relative}" in sdist_names, f"the sdist lacks library/{relative}"
    for field in ("License-Expression: Apache-2.0", "Requires-Python: >=3.11", "Description-Content-Type: text/markdown",
                  "Classifier: Programming Language :: Python :: 3.11", "Requires-Dist: jenkins-job-builder"):
        assert field in metadata
    assert any(n.endswith("licenses/LICENSE") for n in names)
    # the package's own data files: the Groovy scripts it runs (harness, AST dumper, class-cache launcher), schemas,
    # templates, history DB migrations
    package_data = [p.relative_to(REPO).as_posix() for p in (REPO / "pipelinegen").rglob("*")
                    if p.is_file() and p.suffix in (".groovy", ".json", ".sql", ".j2", ".html")
                    and "shared_library" not in p.relative_to(REPO).parts]
    assert "pipelinegen/lint/run_cached.groovy" in package_data
    assert "pipelinegen/analysis/history_schema/0002_testset_names.sql" in package_data
    for relative in package_data:
        assert relative in names, f"the wheel lacks {relative}"
    assert "pipelinegen = pipelinegen.cli:main" in entry_points


def test_the_fresh_venv_runs_the_wheel_not_this_checkout(installed):
    where = _run(installed.python, "-c", "import pipelinegen, pipelinegen.render.library as l; "
                 "print(pipelinegen.__file__); print(l.packaged_library())", cwd=installed.venv).stdout.split()
    assert all(Path(p).is_relative_to(installed.venv) for p in where), where
    assert _run(installed.pipelinegen, "--version").stdout.startswith("pipelinegen, version ")


def test_the_wheel_compiles_the_sample_project_like_the_editable_install(installed, tmp_path):
    editable, wheel = _compile_both(installed, installed.checkout / "examples" / "sample-project", tmp_path)
    assert list(wheel) == list(editable)
    assert wheel == editable
    # what the broken wheel used to leave out: the library steps, the cell scripts, the clone definition
    for name in ("Jenkinsfile", "library/vars/pipelinegenCells.groovy", "library/resources/pipelinegen/run-cell.sh",
                 "library/resources/pipelinegen/plan.json", "clone/jcasc/jobs.yaml"):
        assert name in wheel


def test_the_wheel_compiles_this_repositorys_pipeline_like_the_editable_install(installed, tmp_path):
    # the pipeline.yaml alone: the library comes from the package, not from a library/ beside it
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(installed.checkout / "pipeline.yaml", project / "pipeline.yaml")
    editable, wheel = _compile_both(installed, project, tmp_path)
    assert wheel == editable
    assert len(wheel) == len(_tree(REPO / "generated"))
    # and in the checkout itself, the committed generated/ is what the wheel compiles
    checked = _run(installed.pipelinegen, "compile", "--check", cwd=installed.checkout)
    assert "is up to date" in checked.stdout


def test_a_library_file_missing_from_the_installation_fails_compile_loudly(installed, tmp_path):
    site_library = Path(_run(installed.python, "-c", "import pipelinegen.render.library as l; print(l.packaged_library())",
                             cwd=installed.venv).stdout.strip())
    run_cell = site_library / "resources" / "pipelinegen" / "run-cell.sh"
    project = tmp_path / "sample"
    shutil.copytree(installed.checkout / "examples" / "sample-project", project, symlinks=True)
    hidden = run_cell.with_name("run-cell.sh.hidden")
    run_cell.rename(hidden)
    try:
        done = subprocess.run([installed.pipelinegen, "-C", project, "compile"], env=_env(), capture_output=True, text=True)
    finally:
        hidden.rename(run_cell)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "libraryResource('pipelinegen/run-cell.sh')" in done.stderr
    assert "reinstall pipelinegen" in done.stderr
    assert not (project / "generated").exists()


def test_init_from_the_wheel_writes_what_the_editable_install_writes(installed, tmp_path):
    outputs = []
    for name, pipelinegen in (("editable", EDITABLE_PIPELINEGEN), ("wheel", installed.pipelinegen)):
        project = tmp_path / name
        shutil.copytree(installed.checkout / "examples" / "sample-project", project, symlinks=True,
                        ignore=shutil.ignore_patterns("pipeline.yaml", "generated", "build"))
        _run(pipelinegen, "-C", project, "init")
        outputs.append(((project / "pipeline.yaml").read_bytes(), _tree(project / "generated")))
    assert outputs[1] == outputs[0]
    assert b"name: unit" in outputs[1][0]  # the conventions data file shipped: the runner's test types were found


@pytest.mark.skipif(not shutil.which("groovy"), reason="needs Debian's groovy (scripts/setup.sh)")
def test_validate_from_the_wheel_finds_its_groovy_resources(installed, tmp_path):
    # validate runs the linter (lint/ast_dump.groovy) and the harness (validate/harness/run_pipeline.groovy)
    project = tmp_path / "sample"
    shutil.copytree(installed.checkout / "examples" / "sample-project", project, symlinks=True)
    _run(installed.pipelinegen, "-C", project, "compile")
    validated = _run(installed.pipelinegen, "-C", project, "validate")
    assert "0 errors, 0 warnings" in validated.stdout + validated.stderr
    assert "SUCCESS, equal to the plan" in validated.stdout + validated.stderr


def test_every_third_party_import_of_the_package_is_a_declared_dependency():
    # the fresh venv above borrows this venv's packages: this is what catches an import pyproject.toml lacks
    import ast
    import importlib.metadata
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    declared = {canonicalize_name(Requirement(r).name)
                for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    imported = set()
    for source in (REPO / "pipelinegen").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(m for m in imported if m not in sys.stdlib_module_names and m != "pipelinegen")
    assert "jenkins_jobs" in third_party and "yaml" in third_party
    for module in third_party:
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions & declared, f"pipelinegen imports {module} ({sorted(distributions)}), not in dependencies"
