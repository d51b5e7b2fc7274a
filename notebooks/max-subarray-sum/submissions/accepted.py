def max_subarray(nums):
    # best = largest (prefix sum - smallest earlier prefix sum)
    prefix = 0
    smallest = 0
    best = None
    for x in nums:
        prefix += x
        if best is None or prefix - smallest > best:
            best = prefix - smallest
        smallest = min(smallest, prefix)
    return best
