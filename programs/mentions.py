"""Moved to the core layer: `radlabel.rules.mentions` (kept importable while callers move)."""
from radlabel.rules.mentions import (STATE_RANK, Mention, combine_states, find_mentions,  # noqa: F401
                                     mention_state, sentence_state)
