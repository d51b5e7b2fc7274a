n, k = map(int, input().split())
nums = list(map(int, input().split()))
# a shrinking window only works when no number is negative
count = 0
left = 0
total = 0
for right in range(n):
    total += nums[right]
    while total > k and left <= right:
        total -= nums[left]
        left += 1
    if total == k:
        count += 1
print(count)
