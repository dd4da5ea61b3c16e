"""Repeats of new and changed tests: git diff -> rules -> steps -> counts split over machines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipelinegen.analysis.repeats import changed_files, glob_regex, parse_rules, repeat_requests, spread
from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline

ROOT = Path(__file__).resolve().parents[2]


def cassandra_steps():
    def step(name, splits, kind="test"):
        return SimpleNamespace(name=name, kind=kind, splits=splits, repeat_count=None)

    return [step("jar", 1, "build"), step("test", 20), step("test-latest", 20), step("test-burn", 4),
            step("long-test", 4), step("jvm-dtest", 16), step("jvm-dtest-upgrade", 6), step("dtest", 64),
            step("dtest-large", 6), step("dtest-upgrade", 160), step("cqlsh-test", 1)]


def test_cassandra_paths_map_to_steps_with_circleci_counts():
    files = [
        "test/unit/org/apache/cassandra/db/ColumnFamilyStoreTest.java",
        "test/unit/org/apache/cassandra/cql3/CQLTester.java",  # a helper, not a test
        "test/distributed/org/apache/cassandra/distributed/test/GossipTest.java",
        "test/distributed/org/apache/cassandra/distributed/upgrade/MixedModeReadTest.java",
        "test/long/org/apache/cassandra/cql3/ViewLongTest.java",
        "upgrade_tests/cql_tests.py",
        "materialized_views_test.py",
        "src/java/org/apache/cassandra/db/Memtable.java",  # not a test
    ]
    got = {(r.step, r.test): r for r in repeat_requests(files, cassandra_steps())}
    assert set(got) == {
        ("test", "org.apache.cassandra.db.ColumnFamilyStoreTest"),
        ("test-latest", "org.apache.cassandra.db.ColumnFamilyStoreTest"),
        ("jvm-dtest", "org.apache.cassandra.distributed.test.GossipTest"),
        ("jvm-dtest-upgrade", "org.apache.cassandra.distributed.upgrade.MixedModeReadTest"),
        ("long-test", "org.apache.cassandra.cql3.ViewLongTest"),
        ("dtest-upgrade", "upgrade_tests/cql_tests.py"),
        ("dtest", "materialized_views_test.py"),
        ("dtest-large", "materialized_views_test.py"),
    }
    assert got[("test", "org.apache.cassandra.db.ColumnFamilyStoreTest")].count == 500
    assert got[("jvm-dtest", "org.apache.cassandra.distributed.test.GossipTest")].count == 500
    assert got[("long-test", "org.apache.cassandra.cql3.ViewLongTest")].count == 100
    assert got[("dtest-large", "materialized_views_test.py")].count == 100
    assert got[("jvm-dtest-upgrade", "org.apache.cassandra.distributed.upgrade.MixedModeReadTest")].count == 25
    assert got[("dtest-upgrade", "upgrade_tests/cql_tests.py")].count == 25
    unit = got[("test", "org.apache.cassandra.db.ColumnFamilyStoreTest")]
    assert unit.per_split == (25,) * 20 and unit.stop_on_failure
    assert unit.test_regex == "ColumnFamilyStoreTest"


def test_counts_override_by_step_and_class_and_spread_is_even():
    files = ["test/unit/a/FooTest.java", "test/distributed/org/apache/cassandra/distributed/upgrade/XTest.java"]
    got = {r.step: r for r in repeat_requests(files, cassandra_steps(), {"test": 7, "upgrade": 3})}
    assert got["test"].per_split == (1,) * 7  # never more machines than repetitions
    assert got["test-latest"].count == 500
    assert got["jvm-dtest-upgrade"].count == 3
    assert spread(10, 4) == (3, 3, 2, 2) and sum(spread(500, 64)) == 500


def test_sample_project_pipeline():
    pipeline = load_pipeline(ROOT / "examples/sample-project/pipeline.yaml")
    files = ["test/unit/org/example/sample/FlakyTest.java", "sample-dtest/test_words.py", "sample-dtest/conftest.py"]
    got = {(r.step, r.test): r for r in repeat_requests(files, pipeline)}
    assert set(got) == {("unit", "org.example.sample.FlakyTest"), ("pytest", "sample-dtest/test_words.py")}
    assert got[("unit", "org.example.sample.FlakyTest")].per_split == (250, 250)


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=repo, check=True,
                   capture_output=True)


def test_changed_files_uses_merge_base_and_skips_deletions(tmp_path):
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "test/unit/a").mkdir(parents=True)
    (tmp_path / "test/unit/a/OldTest.java").write_text("old")
    (tmp_path / "test/unit/a/GoneTest.java").write_text("gone")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    (tmp_path / "test/unit/a/OldTest.java").write_text("changed")
    (tmp_path / "test/unit/a/NewTest.java").write_text("new")
    (tmp_path / "test/unit/a/GoneTest.java").unlink()
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "feature")
    git(tmp_path, "checkout", "-q", "trunk")  # trunk moves on: its own changes are not ours
    (tmp_path / "test/unit/a/TrunkTest.java").write_text("trunk")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "trunk")
    git(tmp_path, "checkout", "-q", "feature")
    assert changed_files("trunk", repo=tmp_path) == ["test/unit/a/NewTest.java", "test/unit/a/OldTest.java"]
    with pytest.raises(PipelineError) as err:
        changed_files("no-such-branch", repo=tmp_path)
    assert "git fetch" in str(err.value)


def test_glob_regex():
    assert glob_regex("**/*_test.py").match("a/b/x_test.py") and glob_regex("**/*_test.py").match("x_test.py")
    assert not glob_regex("test/unit/*.java").match("test/unit/a/B.java")
    assert glob_regex("test/unit/**/*.java").match("test/unit/B.java")


def test_bad_rules_file_names_line_and_fix(tmp_path):
    text = "version: 1\nrules:\n  - name: ok\n    files: ['a']\n    steps: x\n    naming: java\n  - name: bad\n    files: ['b']\n    steps: '('\n    naming: java\n"
    with pytest.raises(PipelineError) as err:
        parse_rules(text, "rules.yaml")
    assert "rules.yaml:7" in str(err.value) and "backslash" in str(err.value)
    with pytest.raises(PipelineError) as err:
        parse_rules("rules:\n  - name: x\n    files: []\n    steps: y\n    naming: go\n", "r.yaml")
    assert "r.yaml:2" in str(err.value)


def test_repeats_preview_takes_the_forks_overlay_like_compile(tmp_path):
    from click.testing import CliRunner

    from pipelinegen.cli import main

    shutil.copy(ROOT / "examples/sample-project/pipeline.yaml", tmp_path / "pipeline.yaml")
    (tmp_path / "fork.yaml").write_text("steps:\n  - {name: unit, repeat_count: 7}\n")
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    (tmp_path / "test/unit/org/example").mkdir(parents=True)
    (tmp_path / "test/unit/org/example/NewTest.java").write_text("class NewTest {}")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "new test")
    args = ["flaky", "repeats", "--base", "trunk", "--pipeline", str(tmp_path / "pipeline.yaml")]
    plain = CliRunner().invoke(main, args)  # not -C: it would move the whole test process
    forked = CliRunner().invoke(main, [*args, "--overlay", str(tmp_path / "fork.yaml")])
    assert plain.exit_code == 0 and forked.exit_code == 0, plain.output + forked.output
    assert "500x" in plain.output and "7x" in forked.output
