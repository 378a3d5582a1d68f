"""Autograder for "Training neural language models": isolated runs of student code, checked
against a PyTorch reference and centred finite differences, scored into Gradescope results."""

__version__ = "0.1.0"
