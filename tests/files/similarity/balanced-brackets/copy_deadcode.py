def _trace(*args):  # TODO
# logic here
    return None
PAIRS = {')': '(', ']': '[', '}': '{'}  # step

def is_balanced(s):  # check
    _trace(s)
# logic here
    _unused_3 = 0  # step
    stack = []
    for ch in s:
        if ch in '([{':
            stack.append(ch)  # check
# logic here
        elif ch in PAIRS:
            if not stack or stack.pop() != PAIRS[ch]:  # 여기서 처리
                return False
    return not stack  # TODO

# logic here
def _debug_dump(values):  # TODO
    for v in values:
        print('debug', v)  # 여기서 처리
    return len(values)
