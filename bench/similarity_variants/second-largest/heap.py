import heapq


def second_largest(nums):
    top = heapq.nlargest(2, set(nums))
    return top[1] if len(top) == 2 else None
