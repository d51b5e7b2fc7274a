def shortest_path(maze):
    rows, cols = len(maze), len(maze[0])
    frontier = {(r, c) for r in range(rows) for c in range(cols) if maze[r][c] == "S"}
    visited = set(frontier)
    steps = 0
    while frontier:
        for r, c in frontier:
            if maze[r][c] == "E":
                return steps
        following = set()
        for r, c in frontier:
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= nr < rows and 0 <= nc < cols and maze[nr][nc] != "#" and (nr, nc) not in visited:
                    visited.add((nr, nc))
                    following.add((nr, nc))
        frontier = following
        steps += 1
    return -1
