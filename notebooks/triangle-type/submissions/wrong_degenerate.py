a, b, c = sorted(map(int, input().split()))
if a + b < c:  # a flat "triangle" like 1 2 3 is not a triangle
    print("not a triangle")
elif a == c:
    print("equilateral")
elif a == b or b == c:
    print("isosceles")
else:
    print("scalene")
