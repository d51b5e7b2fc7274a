"""Code Tutor: extensions."""
