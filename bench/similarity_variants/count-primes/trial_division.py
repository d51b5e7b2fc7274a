def is_prime(k):
    if k < 2:
        return False
    d = 2
    while d * d <= k:
        if k % d == 0:
            return False
        d += 1
    return True


n = int(input())
print(sum(1 for k in range(n + 1) if is_prime(k)))
