def two_sum(nums, target):
    last = {x: j for j, x in enumerate(nums)}
    for i, x in enumerate(nums):
        j = last.get(target - x)
        if j is not None and j > i:
            return (i, j)
    return None
