import sys
from collections import Counter

k = int(sys.stdin.readline())
counts = Counter(sys.stdin.read().lower().split())
for word in sorted(counts, key=lambda w: (-counts[w], w))[:k]:
    print(f"{word} {counts[word]}")
