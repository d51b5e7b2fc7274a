def gcd_lcm(a, b):
    g = min(a, b)
    while a % g != 0 or b % g != 0:  # tries every candidate: up to 10**12 steps
        g -= 1
    return (g, a * b // g)
