from collections import deque

def min_coins(coins, amount):
    # breadth-first over the amounts still to pay: the first time 0 is reached is the fewest coins
    steps = {amount: 0}
    queue = deque([amount])
    while queue:
        rest = queue.popleft()
        if rest == 0:
            return steps[rest]
        for c in coins:
            nxt = rest - c
            if nxt >= 0 and nxt not in steps:
                steps[nxt] = steps[rest] + 1
                queue.append(nxt)
    return -1
