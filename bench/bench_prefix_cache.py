"""What prompt-prefix caching buys on the embedded LLM: judge-call latency with and without it.

Every judge prompt starts with the same instructions and demos (~600 tokens); llama.cpp keeps the
KV cache of the previous prompt and evaluates only the differing tail. With the cache defeated
(`prefix_cache=False` resets it before each call) the whole prompt is evaluated every time.

Usage: python bench/bench_prefix_cache.py [--calls 12]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from radlabel.env import apply_offline_defaults, num_threads

apply_offline_defaults()

import dspy  # noqa: E402

from radlabel.lm.embedded import model_path  # noqa: E402
from radlabel.lm.llamacpp_engine import LlamaCppEngine  # noqa: E402
from radlabel.ontology import Ontology  # noqa: E402
from radlabel.programs.modules import MentionLabeler  # noqa: E402

SENTENCES = ["Small left pleural effusion.", "The heart is mildly enlarged.", "No pneumothorax.",
             "Patchy right basilar opacity, possibly pneumonia.", "Healed left rib fractures.",
             "Right IJ central line with tip in the SVC."]


def run(prefix_cache: bool, calls: int) -> dict:
    engine = LlamaCppEngine(str(model_path()), n_threads=num_threads(), prefix_cache=prefix_cache)
    lm = dspy.LM("llamacpp/bench", engine=engine, temperature=0.0, max_tokens=32, cache=False)
    judge = MentionLabeler(Ontology.load(), judge="all").judge
    classes = Ontology.load().finding_classes
    times, evaluated = [], []
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        judge(finding="warm-up", sentences="warm-up")
        for i in range(calls):
            c = classes[i % len(classes)]
            before = list(engine.llm.input_ids[: engine.llm.n_tokens]) if prefix_cache else []
            t0 = time.perf_counter()
            judge(finding=f"{c.name}: {c.definition}", sentences=SENTENCES[i % len(SENTENCES)])
            times.append(time.perf_counter() - t0)
            prompt = lm.history[-1]["usage"]["prompt_tokens"]
            now = list(engine.llm.input_ids[:prompt])
            shared = next((k for k, (a, b) in enumerate(zip(before, now)) if a != b), min(len(before), len(now)))
            evaluated.append(prompt - shared)
    prompt_tokens = lm.history[-1]["usage"]["prompt_tokens"]
    engine.close()
    return {"prefix_cache": prefix_cache, "calls": calls, "median_s": round(statistics.median(times), 2),
            "mean_s": round(statistics.mean(times), 2), "prompt_tokens_per_call": prompt_tokens,
            "prompt_tokens_evaluated_per_call": round(statistics.mean(evaluated), 1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=12)
    args = ap.parse_args(argv)
    for flag in (True, False):
        print(json.dumps(run(flag, args.calls)), flush=True)


if __name__ == "__main__":
    main()
