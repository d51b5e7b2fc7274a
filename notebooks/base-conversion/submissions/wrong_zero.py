n, b = map(int, input().split())
out = ""
while n > 0:  # prints an empty line for 0
    out = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % b] + out
    n //= b
print(out)
