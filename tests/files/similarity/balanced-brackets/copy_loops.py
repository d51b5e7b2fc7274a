PAIRS = {')': '(', ']': '[', '}': '{'}

def is_balanced(s):
    stack = []
    _seq1 = list(s)
    for _i1 in range(len(_seq1)):
        ch = _seq1[_i1]
        if ch in '([{':
            stack.append(ch)
        elif ch in PAIRS:
            if not stack or stack.pop() != PAIRS[ch]:
                return False
    return not stack