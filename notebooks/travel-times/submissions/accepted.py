from heapq import heappop, heappush

def shortest_times(n, roads, start):
    graph = {}
    for u, v, w in roads:
        graph.setdefault(u, []).append((w, v))
        graph.setdefault(v, []).append((w, u))
    best = {start: 0}
    done = set()
    heap = [(0, start)]
    while heap:
        d, city = heappop(heap)
        if city in done:
            continue
        done.add(city)
        for w, other in graph.get(city, ()):
            if d + w < best.get(other, float("inf")):
                best[other] = d + w
                heappush(heap, (d + w, other))
    return [best.get(city, -1) for city in range(n)]
