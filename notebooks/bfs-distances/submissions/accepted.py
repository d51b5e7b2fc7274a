n, m = map(int, input().split())
adjacency = {v: set() for v in range(1, n + 1)}
for _ in range(m):
    u, v = map(int, input().split())
    adjacency[u].add(v)
    adjacency[v].add(u)
distance = {1: 0}
layer = [1]
steps = 0
while layer:
    steps += 1
    next_layer = []
    for u in layer:
        for v in adjacency[u]:
            if v not in distance:
                distance[v] = steps
                next_layer.append(v)
    layer = next_layer
print(" ".join(str(distance.get(v, -1)) for v in range(1, n + 1)))
