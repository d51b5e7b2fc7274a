import sys

data = sys.stdin.read().split()
n = int(data[0])
total = 0
for token in data[1:n + 1]:
    total += int(token)
print(total)
print("%.2f" % (total / n))
