def range_sums(nums, queries):
    prefix = [0]
    for x in nums:
        prefix.append(prefix[-1] + x)
    # leaves out nums[r]
    return [prefix[r] - prefix[l] for l, r in queries]
