"""Code Tutor: Jupyter-centric programming practice for classes."""

__version__ = "0.1.0"
