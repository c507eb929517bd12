"""Classifiers trained on LLM pseudo-labels (and gold/reviewed labels), a domain tokenizer and
masked-LM pre-training. Heavy libraries (torch, transformers, peft) are imported lazily inside
the modules that need them, so `import radlabel.training` stays cheap."""
