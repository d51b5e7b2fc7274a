n = int(input())
sieve = bytearray([1]) * max(n, 2)  # only covers 0 .. n - 1
sieve[0] = sieve[1] = 0
i = 2
while i * i < n:
    if sieve[i]:
        sieve[i * i :: i] = bytes(len(range(i * i, n, i)))
    i += 1
print(sum(sieve))
