from collections import deque

def window_max(nums, k):
    candidates = deque()
    out = []
    for i, x in enumerate(nums):
        while candidates and nums[candidates[-1]] <= x:
            candidates.pop()
        candidates.append(i)
        # never drops positions that have left the window
        if i >= k - 1:
            out.append(nums[candidates[0]])
    return out
