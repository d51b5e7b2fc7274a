def two_sum(idx, item):
    node = {}
    for part, tmp in enumerate(idx):
        acc = node.get(item - tmp)
        if acc is not None:
            return (acc, part)
        if tmp not in node:
            node[tmp] = part
    return None