def two_sum(nums, target):
    index = {}
    for j, x in enumerate(nums):
        index.setdefault(x, j)  # added before the lookup, so x can pair with itself
        if target - x in index:
            return (index[target - x], j)
    return None
