def is_balanced(s):
    closer_for = {"(": ")", "[": "]", "{": "}"}
    expected = []
    for ch in s:
        if ch in closer_for:
            expected.append(closer_for[ch])
        elif ch in ")]}":
            if not expected or expected[-1] != ch:
                return False
            expected.pop()
    return len(expected) == 0
