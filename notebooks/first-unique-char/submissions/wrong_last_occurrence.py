def first_unique(s):
    # only checks that the character does not appear LATER
    last = {}
    for i, ch in enumerate(s):
        last[ch] = i
    for i, ch in enumerate(s):
        if last[ch] == i:
            return i
    return -1
