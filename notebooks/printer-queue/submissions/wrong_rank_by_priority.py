t = int(input())
for _ in range(t):
    n, m = map(int, input().split())
    priorities = list(map(int, input().split()))
    mine = priorities[m]
    higher = sum(1 for p in priorities if p > mine)
    # assumes equal priorities print in their original order, ignoring the rotation
    same_before = sum(1 for i in range(m + 1) if priorities[i] == mine)
    print(higher + same_before)
