from math import gcd, lcm


def gcd_lcm(a, b):
    return (gcd(a, b), lcm(a, b))
