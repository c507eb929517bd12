"""Which LM to use: CLI flags > environment > config file > embedded default.

Environment: RADLABEL_LM (e.g. "embedded", "embedded:qwen2.5-coder-0.5b", "embedded:/path/x.gguf",
"openai/meta-llama/Llama-3.1-8B-Instruct"), RADLABEL_API_BASE, RADLABEL_API_KEY,
RADLABEL_LM_PARALLEL. A config file (YAML/TOML with an ``lm:`` table) can set the same fields.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel

from radlabel.errors import InputError

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

    def check_privacy(self) -> None:
        """Refuse to send reports off the machine unless the user said so."""
        if self.is_embedded or self.allow_remote:
            return
        if self.api_base and _is_loopback(self.api_base):
            return
        raise InputError(
            f"LM {self.describe()!r} would send reports off this machine; reports are PHI. "
            "Use a loopback --api-base (vLLM/Ollama/llama.cpp on 127.0.0.1) or pass --allow-remote.",
            field="lm")


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return LMConfig(**data)
    except Exception as e:
        raise InputError(f"invalid LM configuration: {e}", path=str(path) if path else None,
                         field="lm") from None
