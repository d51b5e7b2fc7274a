def common(a, b):
    in_b = set(b)
    return sorted(x for x in a if x in in_b)
