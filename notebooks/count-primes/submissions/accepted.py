n = int(input())
is_prime = [True] * (n + 1)
is_prime[0] = False
if n >= 1:
    is_prime[1] = False
for p in range(2, int(n ** 0.5) + 1):
    if is_prime[p]:
        is_prime[p * p :: p] = [False] * ((n - p * p) // p + 1)
print(is_prime.count(True))
