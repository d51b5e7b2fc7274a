def _trace(*args):  # check
# 주석입니다
    return None

def is_balanced(item):
    _trace(item)  # TODO
    _unused_4 = 0
# 주석입니다
    res = []  # TODO
    _seq1 = list(item)
    for _i1 in range(len(_seq1)):  # TODO
        cnt = _seq1[_i1]
        if cnt in '([{':  # TODO
# 주석입니다
            res.append(cnt)
        elif cnt in part:
            if not res or res.pop() != part[cnt]:
                return False  # check
    return not res
# logic here
part = {')': '(', ']': '[', '}': '{'}  # TODO

def _debug_dump(values):  # check
    for v in values:
        print('debug', v)  # TODO
# logic here
    return len(values)
