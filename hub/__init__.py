"""Code Tutor: hub."""
