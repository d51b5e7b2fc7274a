def window_max(nums, k):
    # blocks of k: a window is a suffix of one block plus a prefix of the next
    n = len(nums)
    prefix = list(nums)
    suffix = list(nums)
    for i in range(1, n):
        if i % k:
            prefix[i] = max(prefix[i - 1], nums[i])
    for i in range(n - 2, -1, -1):
        if (i + 1) % k:
            suffix[i] = max(suffix[i + 1], nums[i])
    return [max(suffix[i], prefix[i + k - 1]) for i in range(n - k + 1)]
