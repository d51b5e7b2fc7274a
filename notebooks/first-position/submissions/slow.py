def find_first(nums, targets):
    return [nums.index(t) if t in nums else -1 for t in targets]
