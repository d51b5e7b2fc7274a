import heapq

def shortest_times(n, roads, start):
    neighbours = [[] for _ in range(n)]
    for u, v, w in roads:
        neighbours[u].append((v, w))  # forgets the way back
    dist = [-1] * n
    heap = [(0, start)]
    while heap:
        d, city = heapq.heappop(heap)
        if dist[city] != -1:
            continue
        dist[city] = d
        for other, w in neighbours[city]:
            if dist[other] == -1:
                heapq.heappush(heap, (d + w, other))
    return dist
