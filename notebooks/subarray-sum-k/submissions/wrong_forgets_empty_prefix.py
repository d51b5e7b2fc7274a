n, k = map(int, input().split())
nums = list(map(int, input().split()))
seen = {}  # runs that start at the first element are never counted
running = 0
count = 0
for x in nums:
    running += x
    count += seen.get(running - k, 0)
    seen[running] = seen.get(running, 0) + 1
print(count)
