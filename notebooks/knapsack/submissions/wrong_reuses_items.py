def best_value(items, capacity):
    best = [0] * (capacity + 1)
    for weight, value in items:
        for c in range(weight, capacity + 1):  # going up lets an item be packed again
            best[c] = max(best[c], best[c - weight] + value)
    return best[capacity]
