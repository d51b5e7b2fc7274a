"""Code Tutor: tutor."""
