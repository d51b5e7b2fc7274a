n = int(input())
width = 2 * n - 1
for row in range(2 * n - 1):
    stars = width - 2 * abs(n - 1 - row)
    print(("*" * stars).center(width).rstrip())
