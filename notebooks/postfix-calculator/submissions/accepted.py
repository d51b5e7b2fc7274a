import operator

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
stack = []
result = None
try:
    for token in input().split():
        if token == "/":
            right, left = stack.pop(), stack.pop()
            stack.append(int(left / right))  # exact here: values stay within 10**12
        elif token in OPS:
            right, left = stack.pop(), stack.pop()
            stack.append(OPS[token](left, right))
        else:
            stack.append(int(token))
    if len(stack) == 1:
        result = stack[0]
except (IndexError, ZeroDivisionError):
    result = None
print("error" if result is None else result)
