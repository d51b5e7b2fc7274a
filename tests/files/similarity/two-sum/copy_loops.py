def two_sum(nums, target):
    first_seen = {}
    for j, x in enumerate(nums):
        i = first_seen.get(target - x)
        if i is not None:
            return (i, j)
        if x not in first_seen:
            first_seen[x] = j
    return None