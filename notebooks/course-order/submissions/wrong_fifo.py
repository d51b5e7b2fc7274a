from collections import deque

def course_order(n, prereqs):
    after = [[] for _ in range(n)]
    waiting = [0] * n
    for a, b in prereqs:
        after[a].append(b)
        waiting[b] += 1
    queue = deque(c for c in range(n) if waiting[c] == 0)  # a plain queue: valid, but not the smallest order
    order = []
    while queue:
        c = queue.popleft()
        order.append(c)
        for d in after[c]:
            waiting[d] -= 1
            if waiting[d] == 0:
                queue.append(d)
    return order if len(order) == n else []
