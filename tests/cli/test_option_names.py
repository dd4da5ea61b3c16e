"""One name per meaning in every command: --format, --db (+ $PIPELINEGEN_HISTORY_DB), -o/--output, --plan.

The older spellings (--json, --history, --out, --plan-json, --download-results) still work, hidden from --help.
"""

from __future__ import annotations

import json

import click
import pytest

from pipelinegen.cli import COMMANDS, main
from pipelinegen.cli.options import HISTORY_DB_ENV, output_option, renamed_option

OLD_SPELLINGS = {"--json", "--history", "--out", "--plan-json", "--download-results", "--kind"}


def _every_command() -> list[tuple[str, click.Command]]:
    context = click.Context(main)
    found = []
    for name in COMMANDS:
        command = main.get_command(context, name)
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
    return found


def _visible_options(command: click.Command) -> dict[str, click.Option]:
    return {opt: param for param in command.params if isinstance(param, click.Option) and not param.hidden
            for opt in param.opts}


@pytest.mark.parametrize(("name", "command"), _every_command(), ids=[n for n, _ in _every_command()])
def test_one_name_per_meaning(name, command):
    visible = _visible_options(command)
    assert not OLD_SPELLINGS & set(visible), f"{name}: an old spelling is shown in --help"
    if "--output" in visible:
        assert "-o" in visible["--output"].opts, f"{name}: --output without -o"
    if "--db" in visible:
        assert visible["--db"].envvar == HISTORY_DB_ENV, f"{name}: --db without ${HISTORY_DB_ENV}"
    if "--format" in visible:
        assert "json" in visible["--format"].type.choices, f"{name}: --format without json"


def test_every_format_command_still_takes_json_as_before():
    for name, command in _every_command():
        if "--format" in _visible_options(command):
            hidden = [p for p in command.params if isinstance(p, click.Option) and p.hidden]
            assert any("--json" in p.opts for p in hidden), f"{name}: `--json` no longer accepted"


def test_plan_json_and_format_json_print_the_same_plan(project, runner):
    new = runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke", "--format", "json"])
    old = runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke", "--json"])
    assert new.exit_code == 0 and old.exit_code == 0, new.output + old.output
    assert json.loads(new.output)["cells"] and new.output == old.output


def test_format_given_twice_under_two_names_is_a_usage_error(project, runner):
    result = runner.invoke(main, ["-C", str(project), "plan", "--format", "text", "--json"])
    assert result.exit_code == 2 and "same option" in result.output


@pytest.mark.parametrize("how", ["--db", "--history", "env"])
def test_history_db_by_db_option_old_name_or_environment(tmp_path, runner, how):
    db = tmp_path / "elsewhere.db"
    args, env = (["history", "info"], {HISTORY_DB_ENV: str(db)}) if how == "env" else (
        ["history", "info", how, str(db)], {HISTORY_DB_ENV: None})
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 2 and str(db) in result.output  # "no history DB here", naming the file asked for


def test_estimate_reads_a_saved_plan_by_plan_or_plan_json(project, runner, tmp_path):
    saved = tmp_path / "plan.json"
    saved.write_text(runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke", "--format", "json"]).output)
    new = runner.invoke(main, ["-C", str(project), "estimate", "--plan", str(saved), "--agents", "small=2", "--format", "json"])
    old = runner.invoke(main, ["-C", str(project), "estimate", "--plan-json", str(saved), "--agents", "small=2", "--json"])
    assert new.exit_code == 0, new.output
    assert json.loads(new.output) == json.loads(old.output)


def test_an_old_output_spelling_lands_where_the_new_one_does(runner, tmp_path):
    @click.command()
    @output_option(dest="out_dir", old=("--out",))
    @renamed_option("--plan", dest="plan_file", old=("--plan-json",), default=None)
    def command(out_dir, plan_file):
        click.echo(f"{out_dir} {plan_file}")

    assert runner.invoke(command, ["--out", "a", "--plan-json", "p"]).output.strip() == "a p"
    assert runner.invoke(command, ["-o", "b", "--plan", "q"]).output.strip() == "b q"
    both = runner.invoke(command, ["-o", "b", "--out", "a"])
    assert both.exit_code == 2 and "give it once" in both.output
    assert "--out " not in runner.invoke(command, ["--help"]).output


def test_flaky_filters_by_verdict_and_still_takes_kind(tmp_path, runner):
    # "kind" is a step's kind; a flaky test has a verdict. Both spellings reach the same filter.
    for spelling in ("--verdict", "--kind"):
        result = runner.invoke(main, ["flaky", "--db", str(tmp_path / "none.db"), spelling, "infra"])
        assert result.exit_code == 2 and "no history DB here" in result.output, result.output
    assert runner.invoke(main, ["flaky", spelling, "bogus"]).exit_code == 2
