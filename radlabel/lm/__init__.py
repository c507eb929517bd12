"""LM backends: the embedded in-process model, and any LiteLLM / OpenAI-compatible server."""
from radlabel.lm.config import LMConfig
from radlabel.lm.factory import make_lm

__all__ = ["LMConfig", "make_lm"]
