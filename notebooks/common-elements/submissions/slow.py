def common(a, b):
    out = set()
    for x in a:
        if x in b:  # searching a list is O(len(b)) every time
            out.add(x)
    return sorted(out)
