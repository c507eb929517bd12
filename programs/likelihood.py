"""Score a fixed set of answers by the LM's own likelihoods instead of free generation.

``score_options(lm, prompt, options)`` asks: if the assistant answered this prompt, how likely is
each option as the answer? It reads the model's next-token distribution once (the embedded
llama.cpp engine: one forward pass over the prompt's new tail, the shared prefix stays in the KV
cache) or the ``top_logprobs`` of a one-token completion (OpenAI-compatible servers that return
them). The result is a probability per option, normalised over the options, which also serves as
a confidence. An LM that can give neither returns None and the caller falls back to generation.

Content-free calibration (Zhao et al. 2021, "Calibrate Before Use"): a small model prefers some
answers whatever the input says. ``calibrate`` scores the same prompt with content-free inputs
("N/A", "", "[MASK]"), averages their option probabilities into a prior, and divides it out.
"""
from __future__ import annotations

import math
from typing import Sequence

CONTENT_FREE = ("N/A", "", "[MASK]")


def _engine(lm):
    """The in-process engine behind a dspy.LM, if it can score options."""
    for attr in ("_engine_spec", "engine"):
        eng = getattr(lm, attr, None)
        if eng is not None and hasattr(eng, "option_logprobs"):
            return eng
    return lm if hasattr(lm, "option_logprobs") else None


def _messages(prompt) -> list[dict]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


def normalise(logprobs: Sequence[float]) -> list[float]:
    m = max(logprobs)
    ex = [math.exp(x - m) for x in logprobs]
    z = sum(ex)
    return [e / z for e in ex]


def option_logprobs(lm, prompt, options: Sequence[str]) -> list[float] | None:
    """Raw log-probability of each option (None when the LM cannot tell)."""
    return option_logprobs_usage(lm, prompt, options)[0]


def option_logprobs_usage(lm, prompt, options: Sequence[str]) -> tuple[list[float] | None, int]:
    """(log-probabilities or None, prompt tokens the call cost)."""
    msgs = _messages(prompt)
    eng = _engine(lm)
    if eng is not None:
        lps = eng.option_logprobs(msgs, list(options))
        return lps, int(getattr(eng, "last_prompt_tokens", 0) or 0)
    return _server_logprobs(lm, msgs, options)


def score_options(lm, prompt, options: Sequence[str]) -> dict[str, float] | None:
    """Probability of each option as the LM's answer to ``prompt`` (a user message or a chat
    message list), normalised over the options; None if the LM gives no likelihoods.

    Options should start with distinct tokens ("yes"/"no", "present"/"absent"/"uncertain");
    where they do not, the embedded engine scores every token of each option.
    """
    lps = option_logprobs(lm, prompt, options)
    if lps is None:
        return None
    return dict(zip(options, normalise(lps)))


def calibrate(probs: dict[str, float], prior: dict[str, float] | None) -> dict[str, float]:
    """Divide out the content-free prior and renormalise (W = diag(p_cf)^-1, b = 0)."""
    if not prior:
        return dict(probs)
    adj = {k: v / max(prior.get(k, 1e-6), 1e-6) for k, v in probs.items()}
    z = sum(adj.values()) or 1.0
    return {k: v / z for k, v in adj.items()}


def content_free_prior(lm, make_prompt, options: Sequence[str],
                       inputs: Sequence[str] = CONTENT_FREE) -> dict[str, float] | None:
    """Mean option probabilities over content-free inputs: ``make_prompt(x)`` for each x."""
    acc = None
    for x in inputs:
        p = score_options(lm, make_prompt(x), options)
        if p is None:
            return None
        acc = p if acc is None else {k: acc[k] + p[k] for k in acc}
    return {k: v / len(inputs) for k, v in acc.items()}


def _server_logprobs(lm, msgs, options) -> tuple[list[float] | None, int]:
    """top_logprobs of a one-token completion from an OpenAI-compatible server, else None."""
    model = getattr(lm, "model", None)
    if not isinstance(model, str) or model.startswith("llamacpp/"):
        return None, 0
    kwargs = dict(getattr(lm, "kwargs", {}) or {})
    call = {k: kwargs[k] for k in ("api_base", "api_key") if kwargs.get(k)}
    try:
        import litellm

        out = litellm.completion(model=model, messages=msgs, max_tokens=1, temperature=0.0,
                                 logprobs=True, top_logprobs=20, **call)
        content = out.choices[0].logprobs["content"] if isinstance(out.choices[0].logprobs, dict) \
            else out.choices[0].logprobs.content
        top = content[0]["top_logprobs"] if isinstance(content[0], dict) else content[0].top_logprobs
        tokens = int(getattr(getattr(out, "usage", None), "total_tokens", 0) or 0)
    except Exception:
        return None, 0
    seen: dict[str, float] = {}
    for t in top:
        tok = (t["token"] if isinstance(t, dict) else t.token).strip().lower()
        lp = t["logprob"] if isinstance(t, dict) else t.logprob
        if tok and tok not in seen:
            seen[tok] = float(lp)
    if not seen:
        return None, tokens
    floor = min(seen.values()) - 1.0
    out_lps = []
    for o in options:
        o = o.strip().lower()
        hits = [lp for tok, lp in seen.items() if o.startswith(tok) or tok.startswith(o)]
        out_lps.append(max(hits) if hits else floor)
    if all(lp == floor for lp in out_lps):
        return None, tokens
    return out_lps, tokens
