def _trace(*args):  # TODO
# logic here
    return None
  # 여기서 처리
def word_count(acc):
    _trace(acc)  # 여기서 처리
    _unused_4 = 0
# helper
    cnt = {}  # 여기서 처리
    _seq1 = list(acc.split())
    for _i1 in range(len(_seq1)):  # check
        cur = _seq1[_i1]
        value = cur.strip('.,!?;:').lower()  # step
# note
        if value:
            cnt[value] = cnt.get(value, 0) + 1  # 여기서 처리
    return cnt

def _debug_dump(values):
# note
    for v in values:  # TODO
        print('debug', v)
    return len(values)  # TODO
