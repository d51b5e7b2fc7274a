import sys

data = sys.stdin.read().split()
t = int(data[0])
pos = 1
for _ in range(t):
    n, m = int(data[pos]), int(data[pos + 1])
    priorities = [int(x) for x in data[pos + 2:pos + 2 + n]]
    pos += 2 + n
    waiting = [0] * 10  # how many queued documents have each priority
    for p in priorities:
        waiting[p] += 1
    order = list(range(n))
    head = 0
    printed = 0
    while True:
        doc = order[head]
        head += 1
        p = priorities[doc]
        if any(waiting[q] for q in range(p + 1, 10)):
            order.append(doc)
            continue
        waiting[p] -= 1
        printed += 1
        if doc == m:
            print(printed)
            break
