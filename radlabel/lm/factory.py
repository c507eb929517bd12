"""Build a `dspy.LM` from an LMConfig: the embedded model or any LiteLLM model string."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from radlabel.env import apply_offline_defaults, num_threads
from radlabel.errors import InputError
from radlabel.lm.config import LMConfig

apply_offline_defaults()


@lru_cache(maxsize=4)
def _engine(path: str, n_ctx: int, threads: int, prefix_cache: bool):
    from radlabel.lm.llamacpp_engine import LlamaCppEngine

    return LlamaCppEngine(path, n_ctx=n_ctx, n_threads=threads, prefix_cache=prefix_cache)


def resolve_embedded_path(ref: str | None) -> Path:
    from radlabel.lm.embedded import DEFAULT_MODEL, MODELS, model_path

    if ref is None or ref in MODELS:
        return model_path(ref or DEFAULT_MODEL)
    p = Path(ref)
    if not p.exists():
        raise InputError(f"embedded model file not found (or not one of {', '.join(MODELS)})",
                         path=str(p), field="lm")
    return p


def make_lm(cfg: LMConfig | None = None):
    """The configured `dspy.LM`; the embedded engine is loaded once per process."""
    import dspy

    cfg = cfg or LMConfig()
    api_base = cfg.check_privacy()  # the PHI guard: strict URL, loopback only, no proxy
    if cfg.is_embedded:
        path = resolve_embedded_path(cfg.embedded_ref)
        engine = _engine(str(path), cfg.n_ctx, cfg.threads or num_threads(), cfg.prefix_cache)
        return dspy.LM(f"llamacpp/{path.stem}", engine=engine, temperature=cfg.temperature,
                       max_tokens=cfg.max_tokens, cache=False, num_retries=0)
    kwargs = dict(temperature=cfg.temperature, max_tokens=cfg.max_tokens, cache=False,
                  num_retries=cfg.num_retries)
    if api_base:
        kwargs["api_base"] = api_base
        kwargs["api_key"] = cfg.api_key or "local"
    elif cfg.api_key:
        kwargs["api_key"] = cfg.api_key
    return dspy.LM(cfg.model, **kwargs)
