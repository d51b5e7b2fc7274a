def count_islands(grid):
    # union-find over land cells
    parent = {}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for r, row in enumerate(grid):
        for c, ch in enumerate(row):
            if ch == "#":
                parent[(r, c)] = (r, c)
                for other in ((r - 1, c), (r, c - 1)):
                    if other in parent:
                        parent[find(other)] = find((r, c))
    return sum(1 for cell in parent if find(cell) == cell)
