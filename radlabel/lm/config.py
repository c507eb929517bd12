"""Which LM to use: CLI flags > environment > config file > embedded default.

Environment: RADLABEL_LM (e.g. "embedded", "embedded:qwen2.5-coder-0.5b", "embedded:/path/x.gguf",
"openai/meta-llama/Llama-3.1-8B-Instruct"), RADLABEL_API_BASE, RADLABEL_API_KEY,
RADLABEL_LM_PARALLEL. A config file (YAML/TOML with an ``lm:`` table) can set the same fields.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, PrivateAttr

from radlabel.errors import InputError
from radlabel.netguard import announce_remote, guard_url, parse_url

EMBEDDED = "embedded"


class LMConfig(BaseModel):
    model: str = EMBEDDED
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    parallel: int = 1  # concurrent requests (servers); the embedded model serves one at a time
    n_ctx: int = 4096
    threads: int | None = None
    prefix_cache: bool = True  # embedded: reuse the KV cache of the shared prompt prefix
    num_retries: int = 2
    allow_remote: bool = False  # a non-loopback api_base must be allowed explicitly (PHI)

    model_config = {"extra": "forbid"}

    @property
    def is_embedded(self) -> bool:
        return self.model == EMBEDDED or self.model.startswith(EMBEDDED + ":")

    @property
    def embedded_ref(self) -> str | None:
        if not self.is_embedded:
            return None
        return self.model.split(":", 1)[1] if ":" in self.model else None

    def describe(self) -> str:
        return self.model + (f" @ {self.api_base}" if self.api_base else "")

    _announced: bool = PrivateAttr(default=False)
    _remote_from: str | None = PrivateAttr(default=None)  # the file that set allow_remote

    def remote_target(self) -> str:
        if self.api_base:
            try:
                return parse_url(self.api_base, field="api-base").host
            except InputError:
                return self.api_base
        return f"the default API of {self.model.split('/', 1)[0]!r}"

    def check_privacy(self) -> str | None:
        """Refuse to send reports off the machine unless the user said so. Every api_base goes
        through the PHI guard (strict parse; proxies off for loopback); returns the URL to use."""
        if self.is_embedded:
            return None
        if self.api_base:
            g = guard_url(self.api_base, field="api-base", allow_remote=self.allow_remote)
            if not g.loopback:
                self._announce()
            return g.url
        if not self.allow_remote:
            raise InputError(
                f"LM {self.describe()!r} would send reports off this machine; reports are PHI. "
                "Use a loopback --api-base (vLLM/Ollama/llama.cpp on 127.0.0.1) or pass "
                "--allow-remote.", field="lm")
        self._announce()
        return None

    def _announce(self) -> None:
        if self._remote_from and not self._announced:
            announce_remote(self.remote_target(), self._remote_from)
            self._announced = True


def load_config(path: str | Path | None = None, **overrides) -> LMConfig:
    """Merge config file, environment and explicit overrides (None values are ignored)."""
    data: dict = {}
    if path:
        p = Path(path)
        if not p.exists():
            raise InputError("config file not found", path=str(p))
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise InputError(f"invalid YAML: {e}", path=str(p)) from None
        data.update(raw.get("lm", raw) if isinstance(raw, dict) else {})
    env = {"model": "RADLABEL_LM", "api_base": "RADLABEL_API_BASE", "api_key": "RADLABEL_API_KEY",
           "parallel": "RADLABEL_LM_PARALLEL"}
    for field, var in env.items():
        if os.environ.get(var):
            data[field] = os.environ[var]
    from_file = bool(path) and data.get("allow_remote") is True
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        cfg = LMConfig(**data)
    except Exception as e:
        raise InputError(f"invalid LM configuration: {e}", path=str(path) if path else None,
                         field="lm") from None
    if from_file and overrides.get("allow_remote") is None:
        cfg._remote_from = str(path)
    return cfg
