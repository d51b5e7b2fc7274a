def hanoi(n, source="A", target="C", spare="B"):
    if n == 1:
        return [f"{source}->{target}"]
    # hanoi(0) never reaches n == 1 and recurses until RecursionError
    return hanoi(n - 1, source, spare, target) + [f"{source}->{target}"] + hanoi(n - 1, spare, target, source)
