def min_coins(coins, amount):
    impossible = amount + 1
    best = [0] + [impossible] * amount
    _stop2 = amount + 1
    a = 1
    while a < _stop2:
        _seq1 = list(coins)
        for _i1 in range(len(_seq1)):
            c = _seq1[_i1]
            if c <= a and best[a - c] + 1 < best[a]:
                best[a] = best[a - c] + 1
        a += 1
    return best[amount] if best[amount] != impossible else -1