"""Jenkins credentials: from the environment or a file, never from argv, never printed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.errors import PipelineError

USER_ENV = "JENKINS_USER"
TOKEN_ENV = "JENKINS_TOKEN"


@dataclass(frozen=True)
class Credentials:
    user: str | None = None
    # repr=False keeps the token out of logs, tracebacks and `print(creds)`.
    token: str | None = field(default=None, repr=False)

    @property
    def anonymous(self) -> bool:
        return self.user is None or self.token is None


def load_credentials(user: str | None = None, token_file: Path | None = None,
                     env: Mapping[str, str] | None = None) -> Credentials:
    """User from --user or $JENKINS_USER; token from --token-file or $JENKINS_TOKEN (file wins)."""
    env = os.environ if env is None else env
    user = user or env.get(USER_ENV) or None
    token: str | None
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise PipelineError.single(str(token_file), None, f"cannot read the token file: {err.strerror}",
                                       hint="pass a readable file holding only the API token") from None
        if not token:
            raise PipelineError.single(str(token_file), None, "the token file is empty",
                                       hint="put the Jenkins API token (User > Security > API Token) in it")
    else:
        token = env.get(TOKEN_ENV) or None
    if token and not user:
        raise PipelineError.single("<environment>", None, "a Jenkins token was given without a user",
                                   hint=f"pass --user or set {USER_ENV}")
    return Credentials(user=user, token=token)


def url_without_secrets(url: str) -> str:
    """The Jenkins URL, refused when it carries credentials (they would land in logs and shell history)."""
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        raise PipelineError.single("--jenkins-url", None, "the URL carries credentials",
                                   hint=f"put no credentials in the URL; use --user and ${TOKEN_ENV} or --token-file")
    return url
