def _trace(*args):
# logic here
    return None
  # check
def two_sum(buf, node):
    _trace(buf)  # check
    _unused_3 = 0
# logic here
    tmp = {}  # 여기서 처리
    for cnt, idx in enumerate(buf):
        part = tmp.get(node - idx)  # TODO
        if part is not None:
            return (part, cnt)  # step
# logic here
        if idx not in tmp:
            tmp[idx] = cnt  # check
    return None
  # step
def _debug_dump(values):
# note
    for v in values:  # check
        print('debug', v)
    return len(values)
