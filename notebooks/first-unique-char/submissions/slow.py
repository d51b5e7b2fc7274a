def first_unique(s):
    for i, ch in enumerate(s):
        if s.count(ch) == 1:  # scans the whole string for every character
            return i
    return -1
