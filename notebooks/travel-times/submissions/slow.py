def shortest_times(n, roads, start):
    neighbours = [[] for _ in range(n)]
    for u, v, w in roads:
        neighbours[u].append((v, w))
        neighbours[v].append((u, w))
    INF = float("inf")
    dist = [INF] * n
    dist[start] = 0
    done = [False] * n
    for _ in range(n):
        city, best = -1, INF
        for c in range(n):  # linear scan for the closest city: O(n^2)
            if not done[c] and dist[c] < best:
                city, best = c, dist[c]
        if city == -1:
            break
        done[city] = True
        for other, w in neighbours[city]:
            if best + w < dist[other]:
                dist[other] = best + w
    return [d if d != INF else -1 for d in dist]
