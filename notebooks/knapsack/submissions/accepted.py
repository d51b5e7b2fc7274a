def best_value(items, capacity):
    reachable = {0: 0}  # total weight -> best value for that exact weight
    for weight, value in items:
        updated = dict(reachable)
        for total, worth in reachable.items():
            w = total + weight
            if w <= capacity and updated.get(w, -1) < worth + value:
                updated[w] = worth + value
        reachable = updated
    return max(reachable.values())
