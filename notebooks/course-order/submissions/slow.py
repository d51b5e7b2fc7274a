def course_order(n, prereqs):
    after = [[] for _ in range(n)]
    waiting = [0] * n
    for a, b in prereqs:
        after[a].append(b)
        waiting[b] += 1
    taken = [False] * n
    order = []
    for _ in range(n):
        nxt = -1
        for c in range(n):  # scans every course for each step: O(n^2)
            if not taken[c] and waiting[c] == 0:
                nxt = c
                break
        if nxt == -1:
            return []
        taken[nxt] = True
        order.append(nxt)
        for d in after[nxt]:
            waiting[d] -= 1
    return order
