sides = [int(x) for x in input().split()]
longest = max(sides)
if longest >= sum(sides) - longest:
    answer = "not a triangle"
else:
    distinct = len(set(sides))
    answer = {1: "equilateral", 2: "isosceles", 3: "scalene"}[distinct]
print(answer)
