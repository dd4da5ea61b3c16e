"""`pipelinegen_version:` in pipeline.yaml: the pipelinegen release a branch's generated/ is compiled with.

generated/ carries the generator's version in every header, so another version would call it stale (or
silently write different files): a checkout says which versions it accepts, and any other refuses to work on it
with the command that runs the right one.
"""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from pipelinegen import __version__
from pipelinegen.errors import Finding
from pipelinegen.yamlsource import locate

PIN_KEY = "pipelinegen_version"
_SPECIFIER_TEXT = re.compile(r"[0-9A-Za-z.*,<>=!~ +-]{1,100}")  # the schema's pattern, without a trailing newline


def version_pin_findings(data: Any, file: str, running: str = __version__) -> list[Finding]:
    """A finding when the pipeline's `pipelinegen_version` does not accept the *running* version."""
    spec = data.get(PIN_KEY) if isinstance(data, dict) else None
    if spec is None:
        return []
    where = locate(data, [PIN_KEY])
    line = where.line if where else None
    try:
        if not isinstance(spec, str) or not _SPECIFIER_TEXT.fullmatch(spec):
            raise InvalidSpecifier(spec)
        accepted = SpecifierSet(spec)
    except InvalidSpecifier:
        return [Finding(file, line, f"{spec!r} is not a version specifier", key_path=PIN_KEY,
                        hint=f'write the release this branch uses, e.g. pipelinegen_version: "=={running}"')]
    if accepted.contains(Version(running), prereleases=True):
        return []
    wanted = _one_release(accepted)
    run_it = f"pipx run --spec 'pipelinegen{spec}' pipelinegen ..." if not wanted else \
        f"pipx install --force pipelinegen=={wanted} (or, once: pipx run --spec pipelinegen=={wanted} pipelinegen ...)"
    return [Finding(file, line, f"this checkout is compiled with pipelinegen {spec}; this is pipelinegen {running}",
                    key_path=PIN_KEY, hint=f"run that release: {run_it}; to move the branch to {running}, "
                    "see docs/adopting.md (Upgrading pipelinegen)")]


def _one_release(accepted: SpecifierSet) -> str:
    """The version of an exact pin (==X), else ''."""
    pins = [s.version for s in accepted if s.operator in ("==", "===") and "*" not in s.version]
    return pins[0] if len(pins) == 1 else ""
