"""Moved to the core layer: `radlabel.rules.normality` (kept importable while callers move)."""
from radlabel.rules.normality import abnormal_sentences, normal_state, states_abnormality  # noqa: F401
