def to_fahrenheit(c):
    # converts the wrong way: Fahrenheit to Celsius
    return (c - 32) * 5 / 9
