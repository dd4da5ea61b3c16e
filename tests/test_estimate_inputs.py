"""`pipelinegen estimate` out of the box: pool, prices and runs per year from pipeline.yaml, each labelled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main

ROOT = Path(__file__).resolve().parents[1]


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
