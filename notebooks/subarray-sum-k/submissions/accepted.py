import sys
from collections import Counter
from itertools import accumulate

data = sys.stdin.read().split()
n, k = int(data[0]), int(data[1])
prefixes = [0, *accumulate(int(x) for x in data[2:2 + n])]
earlier = Counter()
total = 0
for p in prefixes:
    total += earlier[p - k]
    earlier[p] += 1
print(total)
