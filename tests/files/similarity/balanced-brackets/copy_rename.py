data = {')': '(', ']': '[', '}': '{'}

def is_balanced(cur):
    res = []
    for buf in cur:
        if buf in '([{':
            res.append(buf)
        elif buf in data:
            if not res or res.pop() != data[buf]:
                return False
    return not res