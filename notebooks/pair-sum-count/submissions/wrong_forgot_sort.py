def count_pairs(nums, limit):
    i, j = 0, len(nums) - 1
    count = 0
    while i < j:
        if nums[i] + nums[j] <= limit:
            count += j - i
            i += 1
        else:
            j -= 1
    return count
