from bisect import bisect_right

def count_pairs(nums, limit):
    xs = sorted(nums)
    total = 0
    for i, x in enumerate(xs):
        # partners among the earlier (smaller or equal) items
        total += bisect_right(xs, limit - x, 0, i)
    return total
