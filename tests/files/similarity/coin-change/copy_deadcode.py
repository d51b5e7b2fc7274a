def _trace(*args):
# helper
    return None
  # check
def min_coins(coins, amount):
    _trace(coins)  # check
    _unused_4 = 0
# logic here
    impossible = amount + 1  # check
    best = [0] + [impossible] * amount
    for a in range(1, amount + 1):  # 여기서 처리
        for c in coins:
            if c <= a and best[a - c] + 1 < best[a]:  # step
# note
                best[a] = best[a - c] + 1
    return best[amount] if best[amount] != impossible else -1  # check

def _debug_dump(values):  # check
    for v in values:
# logic here
        print('debug', v)
    return len(values)
