"""Gold sets, DSPy metrics and evaluation reports for labelling programs; and closing the loop:
error analysis (`radlabel analyze`), feedback from confirmed corrections, and labelling rounds
(`radlabel loop`). Heavy libraries are imported inside functions."""
