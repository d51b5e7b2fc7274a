"""Code Tutor: judge."""
