"""Closing the loop: error analysis (`radlabel analyze`), feedback from confirmed corrections,
and labelling rounds (`radlabel loop`) that show, in numbers, whether the labels get better.
Heavy libraries (scikit-learn, cleanlab, matplotlib, chromadb) are imported inside functions."""
