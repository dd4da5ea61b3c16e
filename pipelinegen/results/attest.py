"""The in-toto Statement that binds a bundle to its commit, and its optional SSH signature.

Statement subject = the git commit; predicate (SLSA provenance v1 shaped) = the run's parameters,
producer and the sha256 of manifest.json and digests.sha256, which in turn cover every other file.
Signing uses `ssh-keygen -Y sign` so any developer or CI key can sign, and verification needs only an
allowed-signers file (the format git uses for SSH-signed commits).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipelinegen.results.manifest import DIGESTS, MANIFEST

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://pipelinegen.invalid/result-bundle/v1"
SIGNATURE_NAMESPACE = "pipelinegen-result"


def statement(manifest: dict, manifest_sha256: str, digests_sha256: str) -> dict:
    subject = manifest["subject"]
    producer = manifest["producer"]
    pipeline = manifest.get("pipeline") or {}
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject["repository"] or "git", "digest": {"gitCommit": subject["commit"]}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"profile": manifest["profile"], "parameters": manifest["parameters"]},
                "resolvedDependencies": [
                    {"uri": f"pipeline:{f['path']}", "digest": {"sha256": f["sha256"]}}
                    for f in pipeline.get("files", [])
                ],
            },
            "runDetails": {
                "builder": {"id": producer["url"] or f"{producer['kind']}:{producer['host']}",
                            "version": {"pipelinegen": producer["pipelinegen_version"]}},
                "metadata": {"startedOn": producer["started_at"], "finishedOn": producer["finished_at"]},
                "byproducts": [
                    {"name": MANIFEST, "digest": {"sha256": manifest_sha256}},
                    {"name": DIGESTS, "digest": {"sha256": digests_sha256}},
                ],
            },
        },
    }


def statement_problems(stmt: dict, manifest: dict, manifest_sha256: str, digests_sha256: str) -> list[str]:
    """Lines describing every way the statement does not match the bundle it sits in."""
    try:
        commit = stmt["subject"][0]["digest"]["gitCommit"]
        by_name = {b["name"]: b["digest"]["sha256"] for b in stmt["predicate"]["runDetails"]["byproducts"]}
    except (KeyError, IndexError, TypeError):
        return ["attestation: not an in-toto statement written by pipelinegen"]
    problems = []
    if stmt.get("_type") != STATEMENT_TYPE or stmt.get("predicateType") != PREDICATE_TYPE:
        problems.append("attestation: unexpected statement or predicate type")
    if commit != manifest.get("subject", {}).get("commit"):
        problems.append(f"attestation: certifies commit {commit} but the manifest says "
                        f"{manifest.get('subject', {}).get('commit')}")
    if by_name.get(MANIFEST) != manifest_sha256:
        problems.append("attestation: manifest.json digest does not match (manifest modified after signing)")
    if by_name.get(DIGESTS) != digests_sha256:
        problems.append("attestation: digests.sha256 digest does not match (digest list modified)")
    return problems


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if not exe:
        raise RuntimeError("ssh-keygen not found: install openssh-client (scripts/setup.sh does)")
    return exe


def sign(data: bytes, key: Path) -> bytes:
    """SSH signature (armoured text) of *data* with the private key file *key* (no passphrase prompt)."""
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp) / "statement"
        payload.write_bytes(data)
        proc = subprocess.run(
            [_ssh_keygen(), "-Y", "sign", "-q", "-f", str(key), "-n", SIGNATURE_NAMESPACE, str(payload)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"ssh-keygen -Y sign failed with key {key}: {proc.stderr.strip()}")
        return (Path(tmp) / "statement.sig").read_bytes()


def verify_signature(data: bytes, signature: bytes, allowed_signers: Path) -> tuple[bool, str]:
    """(ok, who-or-why): find the signer in *allowed_signers*, then check the signature."""
    exe = _ssh_keygen()
    with tempfile.TemporaryDirectory() as tmp:
        sig = Path(tmp) / "statement.sig"
        sig.write_bytes(signature)
        found = subprocess.run([exe, "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)],
                               capture_output=True, text=True, timeout=60)
        principals = found.stdout.split()
        if found.returncode != 0 or not principals:
            return False, f"signed by a key that is not in {allowed_signers}"
        for principal in principals:
            proc = subprocess.run(
                [exe, "-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", SIGNATURE_NAMESPACE,
                 "-s", str(sig)],
                input=data, capture_output=True, timeout=60,
            )
            if proc.returncode == 0:
                return True, principal
        return False, "signature does not match the attestation (bundle modified after signing)"


def check_signature(data: bytes, signature: bytes) -> tuple[bool, str]:
    """(ok, key-or-why): does *signature* sign *data* with the public key it carries? No trust decision
    (that needs an allowed-signers file): only catches a stale, foreign or garbage signature."""
    exe = _ssh_keygen()
    with tempfile.TemporaryDirectory() as tmp:
        sig = Path(tmp) / "statement.sig"
        sig.write_bytes(signature)
        proc = subprocess.run([exe, "-Y", "check-novalidate", "-n", SIGNATURE_NAMESPACE, "-s", str(sig)],
                              input=data, capture_output=True, timeout=60)
    if proc.returncode == 0:
        key = re.search(rb"key (SHA256:\S+)", proc.stdout + proc.stderr)
        return True, key.group(1).decode() if key else "key fingerprint unknown"
    return False, ("present but does not verify against the attestation (a stale signature from before an "
                   "edit, another file's signature, or not a signature at all)")
