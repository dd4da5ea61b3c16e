"""The cell-count table in docs/pipeline-yaml.md is what `pipelinegen plan` really gives."""

from __future__ import annotations

import shutil
from collections import Counter

from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan
from tests.conftest import REPO


def test_cell_count_table_matches_the_plan(tmp_path):
    text = (REPO / "docs" / "pipeline-yaml.md").read_text()
    table = text.split("<!-- cell-counts:start -->")[1].split("<!-- cell-counts:end -->")[0]
    rows = [line.strip("| ").split(" | ") for line in table.strip().splitlines()[2:]]
    shutil.copy(REPO / "pipeline.yaml", tmp_path / "pipeline.yaml")
    (tmp_path / "build.xml").write_text(
        '<project><property name="java.supported" value="11,17"/><property name="java.default" value="11"/></project>'
    )
    five_o, trunk = load_pipeline(tmp_path / "pipeline.yaml"), load_pipeline(REPO / "pipeline.yaml")
    assert rows, "the table is empty"
    for row in rows:
        profile, *numbers = row
        expected = []
        for pipeline in (five_o, trunk):
            kinds = Counter(c.kind for c in build_plan(pipeline, Parameters(profile=profile)).cells)
            expected += [kinds["build"], kinds["test"], kinds["build"] + kinds["test"]]
        assert [int(n) for n in numbers] == expected, profile
