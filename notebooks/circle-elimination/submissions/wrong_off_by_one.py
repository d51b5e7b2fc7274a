def elimination_order(n, k):
    people = list(range(1, n + 1))
    order = []
    index = 0
    while people:
        index = (index + k) % len(people)  # skips one person too many
        order.append(people.pop(index))
    return order
