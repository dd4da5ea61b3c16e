"""pipelinegen_version in pipeline.yaml is text from whoever controls the checkout: bounded, a PEP 440 specifier
or a clear error with its line, never a crash."""

from __future__ import annotations

import pytest

from pipelinegen.cli import main
from tests.conftest import MINIMAL_PIPELINE


def _pinned(project, spec: str) -> None:
    (project / "pipeline.yaml").write_text(MINIMAL_PIPELINE.replace("version: 1\n", f"version: 1\npipelinegen_version: {spec}\n", 1))


@pytest.mark.parametrize(
    ("spec", "message"),
    [('"latest"', "'latest' is not a version specifier"), ('"==0.1\\n"', "pipelinegen_version"),
     ('"' + "=" * 200 + '"', "pipelinegen_version"), ("12", "pipelinegen_version"),
     ('"==1; rm -rf /"', "pipelinegen_version"), ('"\\u202e==0.1.0"', "pipelinegen_version")],
)
def test_a_malformed_pin_is_a_clear_error(runner, project, spec, message):
    _pinned(project, spec)
    done = runner.invoke(main, ["-C", str(project), "compile"])
    assert done.exit_code == 2
    assert message in done.output
    assert "pipeline.yaml:2" in done.output
