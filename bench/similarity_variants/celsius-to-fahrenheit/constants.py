RATIO = 9 / 5
OFFSET = 32.0


def to_fahrenheit(celsius):
    """Celsius to Fahrenheit."""
    return OFFSET + RATIO * celsius
