"""The plan of the project's own pipeline.yaml equals what the reference rules of Cassandra's CI give.

The expectation is computed here from the reference facts (../shared/reference/cassandra-ci.md),
independently of pipelinegen's expansion code.
"""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan
from tests.conftest import REPO

# reference facts: trunk split counts
SPLITS = {
    "cqlsh-test": 1, "fqltool-test": 1, "sstableloader-test": 1, "stress-test": 1,
    "test": 20, "test-latest": 20, "test-compression": 20, "test-oa": 20, "test-system-keyspace-directory": 20,
    "test-cdc": 20, "test-burn": 4, "long-test": 4, "jvm-dtest": 16, "jvm-dtest-upgrade": 6, "simulator-dtest": 2,
    "dtest": 64, "dtest-novnode": 64, "dtest-latest": 64, "dtest-large": 6, "dtest-large-novnode": 6,
    "dtest-large-latest": 6, "dtest-upgrade": 160, "dtest-upgrade-novnode": 160, "dtest-upgrade-large": 40,
    "dtest-upgrade-large-novnode": 40, "microbench-test": 4, "microbench": 4,
}  # fmt: skip
BUILD_STEPS = {"artifacts", "lint", "debian", "redhat"}
PROFILES = {
    "packaging": ["artifacts", "lint", "debian", "redhat"],
    "skinny": ["lint", "cqlsh-test", "test", "jvm-dtest", "simulator-dtest", "dtest"],
    "pre-commit": ["artifacts", "lint", "debian", "redhat", "fqltool-test", "sstableloader-test", "cqlsh-test", "test",
                   "test-latest", "stress-test", "test-burn", "jvm-dtest", "simulator-dtest", "dtest", "dtest-latest",
                   "microbench-test"],
    "post-commit": ["artifacts", "lint", "debian", "redhat", "fqltool-test", "sstableloader-test", "cqlsh-test", "test-cdc",
                    "test", "test-latest", "test-compression", "stress-test", "test-burn", "long-test", "test-oa",
                    "test-system-keyspace-directory", "jvm-dtest", "jvm-dtest-upgrade", "simulator-dtest", "dtest",
                    "dtest-novnode", "dtest-latest", "dtest-large", "dtest-large-novnode", "dtest-large-latest",
                    "dtest-upgrade", "dtest-upgrade-novnode", "dtest-upgrade-large", "dtest-upgrade-large-novnode",
                    "microbench-test"],
    "performance": ["microbench"],
}  # fmt: skip
PROFILES["pre-commit w/ upgrades"] = PROFILES["pre-commit"] + ["jvm-dtest-upgrade", "dtest-novnode", "dtest-upgrade"]


def reference_cells(profile: str, jdks: list[str], arches: list[str]) -> Counter:
    """Cells per step by the reference rules (default jdk = the first)."""
    expected: Counter = Counter()
    expected["jar"] = len(jdks) * len(arches)  # always runs, once per arch×jdk
    for step in PROFILES[profile]:
        if step in BUILD_STEPS:
            expected[step] = len(jdks) * len(arches)  # build steps run on every arch
            continue
        default_only = step in ("cqlsh-test", "simulator-dtest") or "dtest-upgrade" in step
        n_jdks = 1 if default_only else len(jdks)  # test steps: amd64 only
        if step == "cqlsh-test":
            expected[step] = n_jdks * (4 * 2 - 2)  # python × cython, no cython with 3.12/3.13
        else:
            expected[step] = n_jdks * SPLITS[step]
    if "jvm-dtest-upgrade" in PROFILES[profile]:
        expected["dtest-jars"] = 1  # our build-once cell for the upgrade dtest jars (default jdk, amd64)
    return expected


@pytest.fixture(scope="module")
def trunk():
    return load_pipeline(REPO / "pipeline.yaml")


@pytest.fixture(scope="module")
def cassandra_50(tmp_path_factory):
    """The same pipeline.yaml in a checkout whose build.xml supports 11,17 (Cassandra 5.0)."""
    directory = tmp_path_factory.mktemp("cassandra-5.0")
    shutil.copy(REPO / "pipeline.yaml", directory / "pipeline.yaml")
    (directory / "build.xml").write_text(
        '<project name="cassandra"><property name="java.supported" value="11,17" />'
        '<property name="java.default" value="11" /></project>'
    )
    return load_pipeline(directory / "pipeline.yaml")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_trunk_plan_matches_reference(trunk, profile):
    plan = build_plan(trunk, Parameters(profile=profile))
    assert Counter(c.step for c in plan.cells) == reference_cells(profile, ["11", "17", "21"], ["amd64"])


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_jdks_come_from_build_xml(cassandra_50, profile):
    assert cassandra_50.axis("jdk").values == ("11", "17")
    plan = build_plan(cassandra_50, Parameters(profile=profile))
    assert Counter(c.step for c in plan.cells) == reference_cells(profile, ["11", "17"], ["amd64"])


def test_all_architectures_adds_build_cells_only(trunk):
    plan = build_plan(trunk, Parameters(profile="pre-commit", architecture="all"))
    assert Counter(c.step for c in plan.cells) == reference_cells("pre-commit", ["11", "17", "21"], ["amd64", "arm64"])
    assert all(c.kind == "build" for c in plan.cells if c.axis("arch") == "arm64")


def test_cell_names_follow_cassandra(trunk):
    names = {c.name for c in build_plan(trunk, Parameters(profile="pre-commit", architecture="all")).cells}
    assert {"jar arm64 jdk11", "test jdk17 3/20", "cqlsh-test jdk11 python3.8 cython", "cqlsh-test jdk11 python3.13",
            "lint jdk21", "dtest jdk11 64/64"} <= names  # fmt: skip
    assert "cqlsh-test jdk11 python3.12 cython" not in names


def test_one_jdk_and_dependencies(trunk):
    plan = build_plan(trunk, Parameters(profile="skinny", jdk="17"))
    assert {c.axis("jdk") for c in plan.cells} == {"17"}
    assert not [c for c in plan.cells if c.step == "cqlsh-test"]  # default-jdk-only step
    by_id = plan.by_id()
    for cell in plan.cells:
        for dependency in cell.depends_on:
            assert by_id[dependency].build_once and by_id[dependency].axis("jdk") == cell.axis("jdk")
    test_cell = next(c for c in plan.cells if c.name == "test jdk17 3/20")
    assert test_cell.command == ".build/docker/run-tests.sh -a test -c 3/20 -j 17"
    assert test_cell.depends_on == ("jar_jdk17",) and test_cell.label == "cassandra-amd64-medium"


def test_post_commit_only_on_the_canonical_repository(trunk):
    fork = build_plan(trunk, Parameters(profile="packaging", repository="https://github.com/someone/cassandra"))
    canonical = build_plan(trunk, Parameters(profile="packaging", repository="https://github.com/apache/cassandra/"))
    assert not fork.post_commit and canonical.post_commit
    assert {c.step for c in canonical.cells} - {c.step for c in fork.cells} == {"notify", "nightly-upload"}


def test_custom_profile_by_regexp(trunk):
    plan = build_plan(trunk, Parameters(profile="custom", custom_regexp="^dtest-large", jdk="11"))
    assert {c.step for c in plan.cells} == {"jar", "dtest-large", "dtest-large-novnode", "dtest-large-latest"}


@pytest.mark.parametrize("regexp", ["(?P<x>test)", "test++", "(?i)test", "test\\Z", "[", "a\\0", "[[:est:]]", "\\p{Alpha}+"])
def test_custom_regexp_outside_the_java_python_subset_is_refused(trunk, regexp):
    with pytest.raises(PipelineError):
        build_plan(trunk, Parameters(profile="custom", custom_regexp=regexp))


def test_unicode_class_is_refused_for_the_right_reason(trunk):
    with pytest.raises(PipelineError, match="Unicode classes"):
        build_plan(trunk, Parameters(profile="custom", custom_regexp="\\p{Alpha}+"))


def test_bad_parameters_are_clear_errors(trunk):
    with pytest.raises(PipelineError, match="unknown profile 'pre-comit'.*did you mean 'pre-commit'"):
        build_plan(trunk, Parameters(profile="pre-comit"))
    with pytest.raises(PipelineError, match="jdk='8' is not one of 11, 17, 21"):
        build_plan(trunk, Parameters(profile="skinny", jdk="8"))


def test_cell_ids_are_unique_and_path_safe(trunk):
    plan = build_plan(trunk, Parameters(profile="post-commit", architecture="all", repository=trunk.canonical_repository))
    ids = [c.id for c in plan.cells]
    assert len(ids) == len(set(ids))
    assert all(set(i) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for i in ids)
