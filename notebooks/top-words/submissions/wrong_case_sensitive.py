import sys

k = int(sys.stdin.readline())
counts = {}
for word in sys.stdin.read().split():
    counts[word] = counts.get(word, 0) + 1
for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]:
    print(word, count)
