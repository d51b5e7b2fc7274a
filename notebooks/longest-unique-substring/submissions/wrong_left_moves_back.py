def longest_unique(s):
    last = {}
    left = 0
    best = 0
    for right, ch in enumerate(s):
        if ch in last:
            left = last[ch] + 1  # may move the window's left end backwards
        last[ch] = right
        best = max(best, right - left + 1)
    return best
