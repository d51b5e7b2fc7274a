from collections import deque

t = int(input())
for _ in range(t):
    n, m = map(int, input().split())
    priorities = list(map(int, input().split()))
    queue = deque(enumerate(priorities))
    printed = 0
    while queue:
        index, priority = queue.popleft()
        if queue and queue[0][1] > priority:  # looks only at the next document
            queue.append((index, priority))
            continue
        printed += 1
        if index == m:
            print(printed)
            break
