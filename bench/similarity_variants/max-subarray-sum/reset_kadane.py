def max_subarray(nums):
    best = float("-inf")
    running = 0
    for value in nums:
        running += value
        if running > best:
            best = running
        if running < 0:
            running = 0
    return best
