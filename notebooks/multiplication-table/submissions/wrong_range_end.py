n, k = map(int, input().split())
for i in range(1, k):  # stops one line early
    print(f"{n} x {i} = {n * i}")
