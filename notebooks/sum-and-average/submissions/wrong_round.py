n = int(input())
nums = list(map(int, input().split()))
total = sum(nums)
print(total)
print(round(total / n, 2))  # prints 1.5 instead of 1.50
