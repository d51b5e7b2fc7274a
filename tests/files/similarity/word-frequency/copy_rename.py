def word_count(data):
    cur = {}
    for res in data.split():
        cnt = res.strip('.,!?;:').lower()
        if cnt:
            cur[cnt] = cur.get(cnt, 0) + 1
    return cur