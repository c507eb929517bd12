"""Run a GGUF model in-process with llama.cpp behind DSPy's custom-engine interface.

Calls are serialised (one llama.cpp context), and llama-cpp-python reuses the KV cache for the
longest common token prefix of consecutive prompts, so the fixed instructions and demos that
start every prompt are evaluated once; only the per-report tail costs prompt tokens.
JSON-schema requests become a llama.cpp grammar, so structured answers always parse.
"""
from __future__ import annotations

import threading

from dspy.clients.engines.base import validate_request
from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events


class LlamaCppEngine:
    supports_response_schema = True
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed",
                                  "response_format"})

    def __init__(self, model_path: str, n_ctx: int = 4096, n_threads: int = 1, seed: int = 0,
                 prefix_cache: bool = True):
        from llama_cpp import Llama

        self.model_path = str(model_path)
        self.n_ctx, self.n_threads, self.seed = n_ctx, n_threads, seed
        self.prefix_cache = prefix_cache
        self._lock = threading.Lock()
        self.llm = Llama(model_path=self.model_path, n_ctx=n_ctx, n_threads=n_threads,
                         n_threads_batch=n_threads, seed=seed, verbose=False)

    def complete(self, request) -> Response:
        validate_request(request)
        msgs = []
        if request.system is not None:
            system = request.system if isinstance(request.system, str) else "".join(
                getattr(p, "text", "") or "" for p in request.system)
            msgs.append({"role": "system", "content": system})
        msgs += [{"role": "system" if m.role == "developer" else m.role, "content": m.text or ""}
                 for m in request.messages]
        cfg = request.config
        kw = dict(max_tokens=cfg.max_tokens or 256,
                  temperature=0.0 if cfg.temperature is None else cfg.temperature,
                  seed=self.seed)
        if cfg.stop:
            kw["stop"] = list(cfg.stop) if not isinstance(cfg.stop, str) else [cfg.stop]
        rf = cfg.response_format
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            schema = rf.get("schema") or (rf.get("json_schema") or {}).get("schema")
            kw["response_format"] = {"type": "json_object", "schema": schema}
        elif isinstance(rf, dict) and rf.get("type") == "json_object":
            kw["response_format"] = {"type": "json_object"}
        with self._lock:
            if not self.prefix_cache:
                self.llm.reset()  # forget the KV cache: the whole prompt is evaluated again
            out = self.llm.create_chat_completion(messages=msgs, **kw)
        choice, usage = out["choices"][0], out["usage"]
        return Response(
            id=out.get("id"), model=request.model,
            message=Message.assistant([TextPart(choice["message"]["content"] or "")]),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            usage=Usage(input_tokens=usage["prompt_tokens"], output_tokens=usage["completion_tokens"],
                        total_tokens=usage["prompt_tokens"] + usage["completion_tokens"]))

    def option_logprobs(self, messages: list[dict], options: list[str],
                        answer_prefix: str = "") -> list[float]:
        """Log-probability of each option as the assistant's answer to ``messages``, from the
        model's own next-token distribution (no sampling, no grammar).

        The chat template renders the prompt; the KV cache keeps the longest common token prefix
        with the previous call, so a fixed instruction + demos prefix is evaluated once. Where
        the options' first tokens differ (the usual case: "present" / "absent" / "uncertain")
        this is one forward pass over the new tail; otherwise each option's remaining tokens
        are evaluated too and their log-probabilities summed.
        """
        import numpy as np

        llm = self.llm
        prompt = self._render(messages) + answer_prefix
        toks = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        seqs = [llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) for o in options]
        self.last_prompt_tokens = len(toks)
        with self._lock:
            base = self._logprobs_after(toks)
            if len({s[0] for s in seqs}) == len(seqs):
                return [float(base[s[0]]) for s in seqs]
            out = []
            for s in seqs:
                total = float(base[s[0]])
                for i in range(1, len(s)):
                    total += float(self._logprobs_after(toks + s[:i])[s[i]])
                out.append(total)
            return out

    def _render(self, messages: list[dict]) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if getattr(self, "_formatter", None) is None:
            meta = self.llm.metadata
            template = meta.get("tokenizer.chat_template")
            if not template:
                raise ValueError(f"{self.model_path} has no chat template; cannot score options")
            eos_id, bos_id = self.llm.token_eos(), self.llm.token_bos()
            eos = self.llm.detokenize([eos_id], special=True).decode("utf-8", "ignore")
            bos = self.llm.detokenize([bos_id], special=True).decode("utf-8", "ignore") if bos_id >= 0 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                                  add_generation_prompt=True)
        return self._formatter(messages=messages).prompt

    def _logprobs_after(self, toks: list[int]):
        """Next-token log-softmax after ``toks``, reusing the cached prefix (lock held)."""
        import numpy as np

        llm = self.llm
        if not self.prefix_cache:
            llm.reset()
        n = 0
        cached = llm._input_ids
        for a, b in zip(cached, toks):
            if a != b:
                break
            n += 1
        n = min(n, len(toks) - 1)  # re-evaluate at least one token so its logits are fresh
        if n < llm.n_tokens:
            llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm.n_tokens = n
        llm.eval(toks[n:])
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)
        m = logits.max()
        return logits - m - np.log(np.exp(logits - m).sum())

    def stream(self, request):
        return response_to_events(self.complete(request))

    def close(self) -> None:
        self.llm.close()

    # DSPy saves a custom engine by class path + state.
    def dump_state(self) -> dict:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "n_threads": self.n_threads,
                "seed": self.seed, "prefix_cache": self.prefix_cache}

    @classmethod
    def load_state(cls, state: dict) -> "LlamaCppEngine":
        return cls(**state)
