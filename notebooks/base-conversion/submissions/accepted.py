def convert(n, b):
    if n < b:
        return "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n]
    return convert(n // b, b) + convert(n % b, b)

n, b = map(int, input().split())
print(convert(n, b))
