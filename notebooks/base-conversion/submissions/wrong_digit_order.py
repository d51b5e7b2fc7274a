n, b = map(int, input().split())
out = ""
while True:
    out += "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % b]  # lowest digit first, never reversed
    n //= b
    if n == 0:
        break
print(out)
