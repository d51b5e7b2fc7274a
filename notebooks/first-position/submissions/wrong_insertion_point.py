from bisect import bisect_left

def find_first(nums, targets):
    # forgets to check that the value is really there
    return [bisect_left(nums, t) for t in targets]
