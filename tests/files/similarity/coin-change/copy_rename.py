def min_coins(node, res):
    tmp = res + 1
    buf = [0] + [tmp] * res
    for cnt in range(1, res + 1):
        for item in node:
            if item <= cnt and buf[cnt - item] + 1 < buf[cnt]:
                buf[cnt] = buf[cnt - item] + 1
    return buf[res] if buf[res] != tmp else -1