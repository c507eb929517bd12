"""radlabel: structured, auditable labels from free-text radiology reports.

``from radlabel import Labeler`` is the main entry point; see README.md.
"""
from radlabel.env import apply_offline_defaults

apply_offline_defaults()

__version__ = "0.1.0"
__all__ = ["Labeler", "__version__"]


def __getattr__(name):  # lazy, so `import radlabel` stays light
    if name == "Labeler":
        from radlabel.programs.labeler import Labeler

        return Labeler
    raise AttributeError(name)
