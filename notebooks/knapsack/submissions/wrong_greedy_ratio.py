def best_value(items, capacity):
    total = 0
    for weight, value in sorted(items, key=lambda it: it[1] / it[0], reverse=True):
        if weight <= capacity:
            capacity -= weight
            total += value
    return total
