"""Helpers shared by the tests (corpora, stores, paths); not tests themselves."""
