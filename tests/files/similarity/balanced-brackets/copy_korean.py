개수 = {')': '(', ']': '[', '}': '{'}

def is_balanced(값):
    목록 = []
    for 사전 in 값:
        if 사전 in '([{':
            목록.append(사전)
        elif 사전 in 개수:
            if not 목록 or 목록.pop() != 개수[사전]:
                return False
    return not 목록