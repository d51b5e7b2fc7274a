def fib(n):
    table = [0, 1]
    while len(table) <= n:
        table.append(table[-1] + table[-2])
    return table[n]
