"""DSPy programs that label reports: signatures, modules and the Labeler entry point."""
from radlabel.env import apply_offline_defaults

apply_offline_defaults()

__all__ = ["Labeler"]


def __getattr__(name):  # lazy: importing a submodule should not pull in dspy
    if name == "Labeler":
        from radlabel.programs.labeler import Labeler

        return Labeler
    raise AttributeError(name)
