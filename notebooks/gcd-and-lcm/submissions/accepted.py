import math

def gcd_lcm(a, b):
    g = math.gcd(a, b)
    return g, a * b // g
