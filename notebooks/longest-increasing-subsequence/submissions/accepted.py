def lis_length(nums):
    ends = []
    for x in nums:
        lo, hi = 0, len(ends)
        while lo < hi:
            mid = (lo + hi) // 2
            if ends[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(ends):
            ends.append(x)
        else:
            ends[lo] = x
    return len(ends)
