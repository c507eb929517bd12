"""Core rules: ConText cues (data), mention finding, state ranking and the normal class.

Both `radlabel.programs` and `radlabel.retrieval` build on this layer; it imports only the core
contracts (ontology, sections).
"""
from radlabel.rules.context import ContextRules
from radlabel.rules.mentions import (STATE_RANK, Mention, combine_states, find_mentions,
                                     mention_state, sentence_state)
from radlabel.rules.normality import abnormal_sentences, normal_state, states_abnormality
from radlabel.rules.reading import rule_reading

__all__ = ["ContextRules", "STATE_RANK", "Mention", "combine_states", "find_mentions",
           "mention_state", "sentence_state", "abnormal_sentences", "normal_state",
           "states_abnormality", "rule_reading"]
