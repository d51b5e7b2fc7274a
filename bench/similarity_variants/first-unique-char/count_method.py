def first_unique(s):
    return next((i for i, c in enumerate(s) if s.count(c) == 1), -1)
