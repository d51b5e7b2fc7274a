import heapq

def course_order(n, prereqs):
    after = [[] for _ in range(n)]
    waiting = [0] * n
    for a, b in prereqs:
        after[a].append(b)
        waiting[b] += 1
    ready = [c for c in range(n) if waiting[c] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        c = heapq.heappop(ready)
        order.append(c)
        for d in after[c]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, d)
    return order  # returns a partial order when there is a cycle
