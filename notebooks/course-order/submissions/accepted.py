from collections import Counter, defaultdict
from heapq import heappop, heappush

def course_order(n, prereqs):
    unlocks = defaultdict(list)
    missing = Counter()
    for before, course in prereqs:
        unlocks[before].append(course)
        missing[course] += 1
    candidates = []
    for course in range(n):
        if missing[course] == 0:
            heappush(candidates, course)
    taken = []
    while candidates:
        course = heappop(candidates)
        taken.append(course)
        for nxt in unlocks[course]:
            missing[nxt] -= 1
            if missing[nxt] == 0:
                heappush(candidates, nxt)
    if len(taken) < n:
        return []
    return taken
