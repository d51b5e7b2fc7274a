def edit_distance(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            replace = table[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            table[i][j] = min(replace, table[i - 1][j] + 1, table[i][j - 1] + 1)
    return table[len(a)][len(b)]
