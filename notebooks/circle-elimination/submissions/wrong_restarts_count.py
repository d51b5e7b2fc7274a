def elimination_order(n, k):
    people = list(range(1, n + 1))
    order = []
    while people:
        index = (k - 1) % len(people)  # always counts from the first seat again
        order.append(people.pop(index))
    return order
