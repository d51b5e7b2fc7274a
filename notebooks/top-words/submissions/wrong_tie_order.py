import sys
from collections import Counter

k = int(sys.stdin.readline())
counts = Counter(sys.stdin.read().lower().split())
for word, count in counts.most_common(k):  # ties come in order of first appearance
    print(word, count)
