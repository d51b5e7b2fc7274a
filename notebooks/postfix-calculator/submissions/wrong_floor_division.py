stack = []
ok = True
for token in input().split():
    if token in ("+", "-", "*", "/"):
        if len(stack) < 2:
            ok = False
            break
        b = stack.pop()
        a = stack.pop()
        if token == "+":
            stack.append(a + b)
        elif token == "-":
            stack.append(a - b)
        elif token == "*":
            stack.append(a * b)
        elif b == 0:
            ok = False
            break
        else:
            stack.append(a // b)  # rounds down, not toward zero
    else:
        stack.append(int(token))
print(stack[0] if ok and len(stack) == 1 else "error")
