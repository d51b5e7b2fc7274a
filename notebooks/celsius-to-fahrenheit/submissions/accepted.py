def to_fahrenheit(c):
    fahrenheit = 1.8 * c
    fahrenheit += 32
    return fahrenheit
