n, k = map(int, input().split())
i = 1
while i <= k:
    print(n, "x", i, "=", n * i)
    i += 1
