stack = []
ok = True
for token in input().split():
    if token in "+-*/":
        if len(stack) < 2:
            ok = False
            break
        a = stack.pop()  # a is the RIGHT operand here
        b = stack.pop()
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
            q = abs(a) // abs(b)
            stack.append(q if (a < 0) == (b < 0) else -q)
    else:
        stack.append(int(token))
print(stack[0] if ok and len(stack) == 1 else "error")
