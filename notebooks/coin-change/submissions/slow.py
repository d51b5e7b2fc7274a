def min_coins(coins, amount):
    if amount == 0:
        return 0
    best = -1
    for c in coins:
        if c <= amount:
            rest = min_coins(coins, amount - c)
            if rest != -1 and (best == -1 or rest + 1 < best):
                best = rest + 1
    return best
