"""Process-wide privacy and determinism defaults, applied before heavy imports.

Reports are PHI: on the embedded defaults nothing may leave the machine. These variables stop
Hugging Face hub look-ups, LiteLLM's cost-map fetch and Chroma telemetry; they are only set
when the user has not set them, so an explicit choice always wins.
"""
import os

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_OFFLINE_MODE": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "DSPY_CACHEDIR": os.path.join(os.path.expanduser("~"), ".cache", "radlabel", "dspy"),
}


def apply_offline_defaults() -> None:
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # loopback never goes through a proxy from the shell (PHI): see radlabel.netguard
    from radlabel.netguard import DEFAULT_NO_PROXY, exempt_from_proxies

    exempt_from_proxies(*DEFAULT_NO_PROXY)


def num_threads() -> int:
    """Threads for torch / llama.cpp. One by default: on a shared 2-core box two threads stall."""
    return max(1, int(os.environ.get("RADLABEL_THREADS", "1")))


def cache_dir() -> str:
    """Where assembled model files and other derived artifacts live (RADLABEL_HOME overrides)."""
    return os.environ.get("RADLABEL_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "radlabel")
