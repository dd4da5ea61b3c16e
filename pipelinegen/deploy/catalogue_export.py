"""Export a controller's lint catalogue: run pipelinegen/lint/export_catalogue.groovy in its script console."""

from __future__ import annotations

import json
from importlib import resources

from pipelinegen.deploy.driver import JenkinsDriver
from pipelinegen.deploy.errors import DeployError
from pipelinegen.lint.catalogue_file import MAX_BYTES, catalogue_from_document

EXPORTER = "export_catalogue.groovy"


def exporter_script() -> str:
    return resources.files("pipelinegen.lint").joinpath(EXPORTER).read_text(encoding="utf-8")


def export_catalogue(driver: JenkinsDriver) -> dict:
    """The controller's catalogue document, validated (so what is written is what `lint --catalogue` reads)."""
    output = driver.run_script(exporter_script())
    if len(output.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise DeployError(f"the script console of {driver.url} answered more than {MAX_BYTES // 2**20} MiB")
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        first = output.strip().splitlines()[:1]
        raise DeployError(f"the script console of {driver.url} printed no catalogue: "
                          f"{first[0][:300] if first else 'nothing'}")
    try:
        doc = json.loads(lines[-1])
    except ValueError as err:
        raise DeployError(f"the script console of {driver.url} printed invalid JSON: {err}") from None
    catalogue_from_document(doc, f"the export of {driver.url}")  # raises PipelineError naming the bad key
    return doc
