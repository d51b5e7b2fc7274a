def first_unique(s):
    first_index = {}
    repeated = set()
    for i, ch in enumerate(s):
        if ch in first_index:
            repeated.add(ch)
        else:
            first_index[ch] = i
    best = -1
    for ch, i in first_index.items():
        if ch not in repeated and (best == -1 or i < best):
            best = i
    return best
