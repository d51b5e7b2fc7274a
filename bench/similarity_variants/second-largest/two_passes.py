def second_largest(nums):
    if not nums:
        return None
    top = max(nums)
    rest = [x for x in nums if x != top]
    return max(rest) if rest else None
