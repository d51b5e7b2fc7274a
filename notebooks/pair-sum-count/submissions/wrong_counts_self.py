def count_pairs(nums, limit):
    xs = sorted(nums)
    i, j = 0, len(xs) - 1
    count = 0
    while i <= j:  # also pairs an item with itself
        if xs[i] + xs[j] <= limit:
            count += j - i + 1
            i += 1
        else:
            j -= 1
    return count
