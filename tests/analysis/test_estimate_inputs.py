"""`pipelinegen estimate` out of the box: pool, prices and runs per year from pipeline.yaml, each labelled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main

ROOT = Path(__file__).resolve().parents[2]


def estimate(*args: str, cwd: Path = ROOT):
    return CliRunner().invoke(main, ["-C", str(cwd), "estimate", "--no-sensitivity", *args])


def test_profile_alone_gives_turnaround_and_cost_per_run_and_year_with_their_sources():
    result = estimate("--profile", "pre-commit")
    assert result.exit_code == 0, result.output
    assert re.search(r"cost per run    USD [\d,]+\.\d\d   per year USD [\d,]+\.\d\d \(2,000 runs\)", result.output)
    assert re.search(r"pool medium: 150 agents, declared in pipeline\.yaml:\d+ \(instance_cap\)", result.output)
    assert "source: AWS EC2 On-Demand, Linux, us-east-1: c6i.xlarge" in result.output
    assert re.search(r"runs per year: 2000, declared in pipeline\.yaml:\d+ \(profile pre-commit runs_per_year\)",
                     result.output)
    assert "608 default" in result.output  # no history: every cell's 10 minutes is called a default


def test_json_carries_currency_and_inputs():
    data = json.loads(estimate("--profile", "post-commit", "--json").stdout)
    assert data["currency"] == "USD" and data["runs_per_year"] == 1500 and data["cost_per_year"] > 0
    assert any(line.startswith("price large: 0.34 USD per agent-hour, declared in") for line in data["inputs"])


def test_a_profile_without_runs_per_year_says_the_yearly_cost_is_unknown():
    result = estimate("--profile", "skinny")
    assert result.exit_code == 0, result.output
    assert "per year unknown (no runs_per_year)" in result.output
    assert "0.00 (0 runs)" not in result.output


def test_the_command_line_overrides_and_is_labelled_given():
    result = estimate("--profile", "skinny", "--agents", "medium=10", "--price", "medium=1.5", "--currency", "USD",
                      "--runs-per-year", "12")
    assert result.exit_code == 0, result.output
    assert "pool medium: 10 agents, given (command line)" in result.output
    assert "price medium: 1.5 USD per agent-hour, given (command line)" in result.output
    assert "price large: 0.34 USD per agent-hour, declared in" in result.output  # the rest still from the file
    assert "runs per year: 12, given (command line)" in result.output
    # One currency per estimate: EUR on the command line cannot mix with pipeline.yaml's USD classes.
    mixed = estimate("--profile", "skinny", "--price", "medium=1.5", "--currency", "EUR")
    assert mixed.exit_code == 2 and "several currencies" in mixed.output
    all_given = estimate("--profile", "skinny", "--price", "small=1,medium=1.5,large=2", "--currency", "EUR",
                         "--runs-per-year", "12")
    assert all_given.exit_code == 0 and "cost per run    EUR" in all_given.output
    assert "per year EUR" in all_given.output and "(12 runs)" in all_given.output


@pytest.fixture()
def checkout_without_caps(tmp_path: Path) -> Path:
    text = (ROOT / "pipeline.yaml").read_text()
    text = re.sub(r"\n\s+instance_cap: (20|150|300),", "", text)
    checkout = tmp_path / "c"
    checkout.mkdir()
    (checkout / "pipeline.yaml").write_text(text)
    return checkout


def test_no_pool_anywhere_is_exit_2_naming_what_to_declare(checkout_without_caps):
    result = estimate("--profile", "skinny", cwd=checkout_without_caps)
    assert result.exit_code == 2, result.output
    assert "no pool size for resource classes large, medium" in result.output
    assert "declare instance_cap" in result.output and "--agents large=N,medium=N" in result.output


def test_mixed_currencies_in_pipeline_yaml_are_refused_at_their_line(tmp_path):
    text = (ROOT / "pipeline.yaml").read_text().replace('per_hour: 0.34, currency: USD, source: "AWS EC2 On-Demand, '
                                                        'Linux, us-east-1: c6i.2xlarge (8 vCPU, 16 GiB)"}}\n  - {name: '
                                                        'large-dedicated',
                                                        'per_hour: 0.34, currency: EUR}}\n  - {name: large-dedicated', 1)
    assert "currency: EUR" in text
    checkout = tmp_path / "c"
    checkout.mkdir()
    (checkout / "pipeline.yaml").write_text(text)
    result = CliRunner().invoke(main, ["-C", str(checkout), "plan", "--profile", "skinny"])
    assert result.exit_code == 2
    assert re.search(r"pipeline\.yaml:\d+.*currency EUR differs from USD", result.output), result.output


@pytest.mark.parametrize("bad", ["per_hour: 1e30", "per_hour: -1", 'currency: "usd"', 'currency: "US D\\n"'])
def test_price_fields_are_bounded(tmp_path, bad):
    text = (ROOT / "pipeline.yaml").read_text()
    field = bad.split(":")[0]
    text = re.sub(rf"{field}: [^,}}]+", bad, text, count=1)
    checkout = tmp_path / "c"
    checkout.mkdir()
    (checkout / "pipeline.yaml").write_text(text)
    result = CliRunner().invoke(main, ["-C", str(checkout), "plan", "--profile", "skinny"])
    assert result.exit_code == 2, result.output
    assert f"price.{field}" in result.output or field in result.output


def test_html_gives_every_step_its_own_colour_and_labels_its_axes(tmp_path):
    page = tmp_path / "e.html"
    result = estimate("--profile", "post-commit", "--html", str(page))
    assert result.exit_code == 0, result.output
    html = page.read_text()
    legend = re.findall(r'<span><i style="background: (hsl\([^)]*\))"></i>([^<]+)</span>', html)
    steps = [step for _, step in legend]
    assert len(steps) > 25 and len(set(steps)) == len(steps)
    assert len({colour for colour, _ in legend}) == len(legend)  # was: jar, dtest, microbench-test shared one
    assert "minutes since the run started" in html and "agents, grouped by resource class" in html
    assert "price/h (USD)" in html


def _measured_bundle(tmp_path: Path, name: str, usage: dict[str, tuple[float, float, float]]) -> Path:
    """A bundle whose cells carry run-measured usage: cell id -> (peak MiB, cpu s, wall s)."""
    from pipelinegen.load import load_pipeline
    from pipelinegen.plan.expand import cell_universe
    from pipelinegen.results.bundle import BundleWriter
    from pipelinegen.results.manifest import Producer, Subject

    cells = {c.id: c for c in cell_universe(load_pipeline(ROOT / "pipeline.yaml"))}
    out = tmp_path / name
    with BundleWriter(out, subject=Subject("https://example.org/c.git", "b" * 40), parameters={"profile": "skinny"},
                      producer=Producer(kind="local")) as writer:
        for cell_id, (peak, cpu, wall) in usage.items():
            writer.add_cell(cells[cell_id], status="passed", duration_s=wall,
                            usage=[{"attempt": 1, "cpu_seconds": cpu, "peak_memory_mb": peak, "method": "test"}])
    return out


def test_resources_recommends_the_smallest_class_that_held_the_peak_and_what_it_saves(tmp_path):
    bundle = _measured_bundle(tmp_path, "r.tar.zst", {
        "test_jdk11_1of20": (1800, 360, 600), "test_jdk11_2of20": (1500, 300, 600),   # medium -> small fits
        "dtest_jdk11_1of64": (14500, 2400, 600),                                      # large: too small
        "jvm-dtest_jdk11_1of16": (4000, 1200, 600),                                   # medium: 2 cores, 4 GB
    })
    result = estimate("--profile", "skinny", "--bundle", str(bundle), "--resources")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.startswith("  ")
            and len(line.split()) > 5 and line.split()[1].isdigit()}
    assert rows["test"].split()[4:6] == ["medium", "small"]
    # (0.17 - 0.0832) USD/h over the step's 60 cells x 10 min in one run of the skinny plan
    assert "USD 0.87" in rows["test"] and "a smaller class holds the observed peak" in rows["test"]
    assert "no class holds the observed peak" in rows["dtest"]
    assert rows["jvm-dtest"].split()[4:6] == ["medium", "medium"]  # 2 busy cores + 25 % need medium's 3
    assert "already the smallest class that fits" in rows["jvm-dtest"]
    no_bundle = estimate("--profile", "skinny", "--resources")
    assert no_bundle.exit_code == 2 and "--bundle" in no_bundle.output
