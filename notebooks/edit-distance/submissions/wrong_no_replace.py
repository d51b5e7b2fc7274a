def edit_distance(a, b):
    # only inserts and deletes: len(a) + len(b) - 2 * LCS
    previous = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        current = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                current[j] = previous[j - 1] + 1
            else:
                current[j] = max(previous[j], current[j - 1])
        previous = current
    return len(a) + len(b) - 2 * previous[len(b)]
