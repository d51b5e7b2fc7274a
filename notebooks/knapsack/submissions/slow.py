def best_value(items, capacity):
    def go(i, room):
        if i == len(items):
            return 0
        weight, value = items[i]
        skip = go(i + 1, room)
        if weight <= room:
            return max(skip, value + go(i + 1, room - weight))
        return skip
    return go(0, capacity)
