paid, price = map(int, input().split())  # the price comes first in the input
change = paid - price
counts = []
for coin in (500, 100, 50, 10):
    counts.append(change // coin)
    change %= coin
print(*counts)
print(sum(counts))
