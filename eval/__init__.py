"""Gold sets, DSPy metrics and evaluation reports for labelling programs."""
