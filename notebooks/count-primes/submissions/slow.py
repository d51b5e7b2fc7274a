n = int(input())
count = 0
for x in range(2, n + 1):
    d = 2
    while d * d <= x and x % d != 0:
        d += 1
    if d * d > x:
        count += 1
print(count)
