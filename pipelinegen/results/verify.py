"""Decide whether a bundle certifies a commit; every failed check becomes one clear line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.fsutil import sha256_bytes
from pipelinegen.results.archive import CorruptArchive, iter_members
from pipelinegen.results.identity import compare_identity
from pipelinegen.results.manifest import (
    ATTESTATION,
    DIGESTS,
    MANIFEST,
    SIGNATURE,
    CellRef,
    ManifestError,
    duplicate_count,
    parse_json,
    schema_problems,
)
from pipelinegen.results.records import CaseBatch, RecordsError, case_batches, read_batches

if TYPE_CHECKING:
    from pipelinegen.plan.cell import Cell

_JUNIT_MEMBER = re.compile(r"^cells/([A-Za-z0-9_.-]+)/junit\.xml$")
_SMALL = {MANIFEST, DIGESTS, ATTESTATION, SIGNATURE}
# Read size of a member that is only hashed: cache-sized pieces; 1 MiB ones cost a fresh mapping of memory
# each (page faults: ~10 ms of CPU per 100 MB hashed).
_DRAIN_CHUNK = 128 << 10
CELL_PREFIX = "cell:"


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def certified(self) -> bool:
        return not self.problems


def load_allow_known(path: Path) -> dict[str, str]:
    """Parse an allow-known file: `<test id> <reason>` or `cell:<cell id> <reason>` per line, # comments."""
    allowed: dict[str, str] = {}
    findings = []
    text = Path(path).read_text(encoding="utf-8")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) < 2 or not parts[1].strip():
            findings.append((number, f"'{parts[0]}' has no reason",
                             "write the test id, a space, then why the failure is accepted (e.g. a ticket)"))
            continue
        allowed[parts[0]] = parts[1].strip()
    if findings:
        raise PipelineError([Finding(file=str(path), line=n, message=m, hint=h) for n, m, h in findings])
    return allowed


class _HashingReader:
    """Hashes exactly the bytes a consumer reads (so one pass both parses and digests a member)."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data

    def drain(self) -> str:
        while self.read(_DRAIN_CHUNK):
            pass
        return self.digest.hexdigest()


@dataclass
class _Scan:
    digests: dict[str, str] = field(default_factory=dict)  # member -> actual sha256
    small: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list] = field(default_factory=dict)  # cell id -> failing TestCaseResults
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # cell id -> status -> test cases


def _scan(path: Path) -> _Scan:
    from pipelinegen.results.junit import iter_testcases

    scan = _Scan()
    for name, handle in iter_members(path):  # refuses links, duplicates, appended frames, oversized members
        if name in _SMALL:
            data = handle.read()
            scan.small[name] = data
            scan.digests[name] = sha256_bytes(data)
            continue
        reader = _HashingReader(handle)
        match = _JUNIT_MEMBER.match(name)
        if match:
            cell_id = match.group(1)
            counts = scan.counts.setdefault(cell_id, {"passed": 0, "failed": 0, "error": 0, "skipped": 0})
            for case in iter_testcases(reader, cell_id, repair=False):
                counts[case.status] += 1
                if case.status in ("failed", "error"):  # its text is not needed, and can be 64 KiB
                    scan.failures.setdefault(cell_id, []).append(case._replace(details=""))
        scan.digests[name] = reader.drain()
    return scan


def _parse_digests(data: bytes) -> dict[str, str] | None:
    listed = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest) or name in listed:
            return None  # malformed, or a file listed twice (which of its digests would count?)
        listed[name] = digest
    return listed


def _digest_problems(digests: dict[str, str], small: dict[str, bytes]) -> list[str]:
    """Check 1 of verify: structure, and every member against digests.sha256 (removed, modified, added)."""
    problems = [f"structure: {name} is missing from the bundle" for name in (MANIFEST, DIGESTS, ATTESTATION)
                if name not in small]
    if MANIFEST not in small or DIGESTS not in small:
        return problems
    listed = _parse_digests(small[DIGESTS])
    if listed is None:
        problems.append(f"digests: {DIGESTS} is malformed")
        listed = {}
    for name, digest in sorted(listed.items()):
        actual = digests.get(name)
        if actual is None:
            problems.append(f"digests: {name} is listed but missing from the bundle (file removed)")
        elif actual != digest:
            problems.append(f"digests: {name} does not match its sha256 (file modified)")
    for name in sorted(set(digests) - set(listed) - {DIGESTS, ATTESTATION, SIGNATURE}):
        problems.append(f"digests: {name} is in the bundle but not in {DIGESTS} (file added)")
    return problems


def integrity_problems(path: Path) -> list[str]:
    """Only check 1 of verify, hashing without parsing JUnit: for readers that take uncertified bundles
    (history keeps failing runs) but must not take altered ones. Raises CorruptArchive."""
    digests: dict[str, str] = {}
    small: dict[str, bytes] = {}
    for name, handle in iter_members(Path(path)):
        if name in _SMALL:
            small[name] = handle.read()
            digests[name] = sha256_bytes(small[name])
        else:
            digests[name] = _HashingReader(handle).drain()
    return _digest_problems(digests, small)


class AlteredBundle(Exception):
    """What verified_batches read is not what the producer wrote (or not all of it); discard it."""


def verified_batches(path: Path, manifest: dict, text_limit: int | None = None) -> Iterator[CaseBatch]:
    """Every test case of the bundle (as CaseBatches), in ONE pass that also runs check 1 of verify (every
    member against digests.sha256) and check 6 (each cell's test cases against its manifest counts).

    Each cell's test cases come from its records member when it has one (read column by column), else
    from its junit.xml. The checks can only finish after the last member, so AlteredBundle is raised after
    the last batch has been yielded: the caller must read everything inside one transaction and roll it
    back on the exception (history ingest does). Raises CorruptArchive for an unreadable archive.
    *text_limit*: see records.read_batches.
    """
    sources: dict[str, dict] = {}
    for cell in manifest.get("cells", []):
        member = cell.get("records") or cell.get("junit")
        if member:
            sources[member] = cell
    digests: dict[str, str] = {}
    small: dict[str, bytes] = {}
    counted: dict[str, dict[str, int]] = {}
    for name, handle in iter_members(Path(path)):
        if name in _SMALL:
            small[name] = handle.read()
            digests[name] = sha256_bytes(small[name])
            continue
        reader = _HashingReader(handle)
        cell = sources.get(name)
        if cell is not None:
            counts = counted[name] = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
            try:
                batches = read_batches(reader, cell["id"], name, text_limit=text_limit) if name == cell.get("records") \
                    else _junit_batches(reader, cell["id"])
                for batch in batches:
                    for status, n in batch.counts.items():
                        counts[status] += n
                    yield batch
            except RecordsError as err:
                raise AlteredBundle(f"records: {err}") from err
        digests[name] = reader.drain()
    problems = _digest_problems(digests, small)
    for name, cell in sources.items():
        counts = counted.get(name)
        if counts is None:
            problems.append(f"cells: '{cell.get('name', cell['id'])}' ({cell['id']}): {name} is missing")
        elif counts != {k: (cell.get("tests") or {}).get(k) for k in counts}:
            problems.append(f"cells: '{cell.get('name', cell['id'])}' ({cell['id']}): the manifest counts "
                            f"{ {k: (cell.get('tests') or {}).get(k) for k in counts} } but {name} holds {counts}")
    if problems:
        raise AlteredBundle(problems[0])


def _junit_batches(reader, cell_id: str) -> Iterator[CaseBatch]:
    """A cell without a records member (a bundle written before records.tsv existed): its junit.xml, parsed
    (lxml is imported only then: bulk readers of current bundles never need it)."""
    from pipelinegen.results.junit import iter_testcases

    return case_batches(iter_testcases(reader, cell_id, repair=False))


FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_full_commit(text: str) -> bool:
    """A full SHA-1 (40 hex) or SHA-256 (64 hex) git object name; an abbreviation never certifies."""
    return FULL_COMMIT.fullmatch(text.lower()) is not None


def _commit_problem(recorded: str, wanted: str) -> str | None:
    """Full commits only: a prefix match would let `0123456` certify every commit that starts with it."""
    if not is_full_commit(wanted):
        return f"commit: '{wanted}' is not a full 40- or 64-hex commit (an abbreviation can name many commits)"
    if not is_full_commit(recorded):
        return f"commit: the bundle records the abbreviated commit {recorded}, which certifies no commit"
    if recorded.lower() != wanted.lower():
        return f"commit: the bundle certifies {recorded}, not {wanted}"
    return None


def _checked(check, *args) -> tuple[bool, str]:
    """A signature check that could not run (no ssh-keygen, a hung one) fails closed, with the reason."""
    import subprocess

    try:
        return check(*args)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        return False, f"cannot be checked ({err}); a signed bundle is certified only with a checked signature"


def verify_bundle(path: Path, *, commit: str | None = None, pipeline_identity: dict | None = None,
                  required_cells: Sequence[Cell | CellRef] | None = None, allowed_signers: Path | None = None,
                  allow_known: dict[str, str] | None = None) -> VerifyReport:
    """Run every check; the bundle certifies *commit* only if report.certified."""
    from pipelinegen.results import attest

    report = VerifyReport()
    problems, notes = report.problems, report.notes
    allow_known = allow_known or {}
    try:
        scan = _scan(Path(path))
    except CorruptArchive as err:
        problems.append(f"archive: {err}")
        return report

    # 1. Every file is listed in digests.sha256 with the right digest, and nothing is missing.
    problems.extend(_digest_problems(scan.digests, scan.small))
    if MANIFEST not in scan.small or DIGESTS not in scan.small:
        return report

    try:
        manifest = parse_json(scan.small[MANIFEST])
    except ManifestError as err:
        problems.append(f"manifest: {err}")
        return report
    schema = schema_problems(manifest)
    problems.extend(schema)
    if schema:
        return report

    # 2. The attestation binds commit, manifest and digest list; the signature binds the attestation.
    if ATTESTATION in scan.small:
        try:
            stmt = parse_json(scan.small[ATTESTATION], ATTESTATION)
            problems.extend(attest.statement_problems(stmt, manifest, scan.digests[MANIFEST],
                                                      scan.digests[DIGESTS]))
        except ManifestError as err:
            problems.append(f"attestation: {err}")
    if allowed_signers is not None:
        if SIGNATURE not in scan.small:
            problems.append("signature: the bundle is not signed but --allowed-signers was given")
        elif ATTESTATION in scan.small:
            ok, who = _checked(attest.verify_signature, scan.small[ATTESTATION], scan.small[SIGNATURE],
                               allowed_signers)
            if ok:
                notes.append(f"signature: good, signed by {who}")
            else:
                problems.append(f"signature: {who}")
    elif SIGNATURE in scan.small:
        # A signature that is there must hold, trusted signer or not: a stale one (the bundle was edited and
        # re-digested) or garbage is evidence of tampering, whoever is asked to trust the key.
        if ATTESTATION in scan.small:
            ok, why = _checked(attest.check_signature, scan.small[ATTESTATION], scan.small[SIGNATURE])
            if ok:
                notes.append(f"signature: valid for the key it names ({why}), but that key is not checked "
                             f"against anyone (pass --allowed-signers FILE)")
            else:
                problems.append(f"signature: {why}")
    else:
        notes.append("signature: the bundle is unsigned; digests only prove it is self-consistent")

    # 3. The subject is the commit asked about, and the run finished.
    recorded = manifest["subject"]["commit"]
    if commit is not None:
        wrong = _commit_problem(recorded, commit)
        if wrong:
            problems.append(wrong)
    elif not is_full_commit(recorded):
        problems.append(f"commit: the bundle records the abbreviated commit {recorded}, which certifies no commit")
    if manifest["incomplete"]:
        problems.append(f"incomplete: the run did not finish ({manifest['incomplete_reason'] or 'no reason given'})")

    # 4. The pipeline definition is the one given.
    if pipeline_identity is not None:
        if manifest["pipeline"] is None:
            problems.append("pipeline identity: the bundle records no pipeline identity")
        else:
            problems.extend(compare_identity(manifest["pipeline"], pipeline_identity))
            if manifest["pipeline"]["pipelinegen_version"] != pipeline_identity["pipelinegen_version"]:
                notes.append(f"pipeline identity: produced with pipelinegen "
                             f"{manifest['pipeline']['pipelinegen_version']}, verified with "
                             f"{pipeline_identity['pipelinegen_version']}")

    # 5. Every required cell is present and ran (the classic silent hole is a missing split).
    cells = {c["id"]: c for c in manifest["cells"]}
    if required_cells is not None:
        for ref in required_cells:
            if ref.id not in cells:
                problems.append(f"cells: '{ref.name}' ({ref.id}) is required by the plan but missing from the bundle")
        extra = sorted(set(cells) - {r.id for r in required_cells})
        if extra:
            notes.append(f"cells: {len(extra)} cell(s) not in the plan: {', '.join(extra[:10])}")
    else:
        notes.append("cells: no plan given; checked only the cells the bundle lists")

    # 6. The manifest's per-cell counts are those of the JUnit it points to (catches hand edits).
    for cell_id, cell in cells.items():
        if cell["junit"] and cell["junit"] not in scan.digests:
            problems.append(f"cells: '{cell['name']}' ({cell_id}): {cell['junit']} is missing")
            continue
        actual = scan.counts.get(cell_id, {"passed": 0, "failed": 0, "error": 0, "skipped": 0})
        recorded = {k: cell["tests"][k] for k in actual}
        if actual != recorded:
            problems.append(f"cells: '{cell['name']}' ({cell_id}): the manifest counts {recorded} but its JUnit "
                            f"holds {actual}")

    # 7. No failures, except the ones the user accepts.
    for cell_id, cell in cells.items():
        failing = scan.failures.get(cell_id, [])
        cell_key = CELL_PREFIX + cell_id
        if cell["status"] in ("not-run", "skipped"):
            if cell_key in allow_known:
                notes.append(f"cells: '{cell['name']}' {cell['status']} — allowed: {allow_known[cell_key]}")
            else:
                problems.append(f"cells: '{cell['name']}' ({cell_id}) is {cell['status']}")
            continue
        for case in failing:
            reason = allow_known.get(case.test_id)
            if reason is not None:
                notes.append(f"known failure: {case.test_id} in {cell_id} — {reason}")
            else:
                problems.append(f"test {case.status}: {case.test_id} in '{cell['name']}'"
                                + (f" — {case.message}" if case.message else ""))
        if cell["status"] in ("failed", "error") and not failing:
            if cell_key in allow_known:
                notes.append(f"cells: '{cell['name']}' {cell['status']} — allowed: {allow_known[cell_key]}")
            else:
                problems.append(f"cells: '{cell['name']}' ({cell_id}) {cell['status']} with no failing test "
                                f"recorded (build error, timeout or crash; see its logs)")
    if manifest["duplicates"]:
        notes.append(f"duplicates: {duplicate_count(manifest)} test(s) ran more than once in a step "
                     f"(reported, not dropped; see `results summary`)")
    totals = manifest["totals"]["tests"]
    notes.append(f"tests: {totals['total']} total, {totals['passed']} passed, {totals['failed']} failed, "
                 f"{totals['error']} errors, {totals['skipped']} skipped, {totals['flaky']} flaky")
    return report
