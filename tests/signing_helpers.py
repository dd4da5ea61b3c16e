"""SSH signing keys for result-bundle tests (ssh-keygen, as `results collect --sign-key` uses)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def keypair(tmp: Path, name: str) -> Path:
    """A fresh unencrypted ed25519 key pair tmp/name (+ .pub); returns the private key."""
    key = tmp / name
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def allowed_signers(tmp: Path, principal: str, key: Path) -> Path:
    """An allowed_signers file trusting *key* as *principal*."""
    allowed = tmp / f"allowed_{principal}"
    allowed.write_text(f"{principal} {key.with_suffix('.pub').read_text().strip()}\n")
    return allowed
