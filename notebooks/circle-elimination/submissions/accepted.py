def elimination_order(n, k):
    people = list(range(1, n + 1))
    order = []
    index = 0
    while people:
        index = (index + k - 1) % len(people)
        order.append(people.pop(index))
    return order
