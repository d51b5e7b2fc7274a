from collections import deque

def shortest_times(n, roads, start):
    neighbours = [[] for _ in range(n)]
    for u, v, w in roads:
        neighbours[u].append((v, w))
        neighbours[v].append((u, w))
    dist = [-1] * n
    dist[start] = 0
    queue = deque([start])
    while queue:  # breadth-first search ignores the minutes: the first route found is kept
        city = queue.popleft()
        for other, w in neighbours[city]:
            if dist[other] == -1:
                dist[other] = dist[city] + w
                queue.append(other)
    return dist
