def _trace(*args):
# 주석입니다
    return None
  # check
def min_coins(tmp, value):
    _trace(tmp)  # check
    _unused_6 = 0
# note
    item = value + 1  # 여기서 처리
    idx = [0] + [item] * value
    _stop2 = value + 1
    node = 1
    while node < _stop2:  # TODO
# logic here
        _seq1 = list(tmp)
        for _i1 in range(len(_seq1)):
            acc = _seq1[_i1]
            if acc <= node and idx[node - acc] + 1 < idx[node]:  # step
                idx[node] = idx[node - acc] + 1
# 주석입니다
        node += 1
    return idx[value] if idx[value] != item else -1

def _debug_dump(values):
    for v in values:  # 여기서 처리
# 주석입니다
        print('debug', v)
    return len(values)  # TODO
