def find_first(nums, targets):
    answers = []
    for t in targets:
        lo, hi = 0, len(nums)
        while lo < hi:
            mid = (lo + hi) // 2
            if nums[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        answers.append(lo if lo < len(nums) and nums[lo] == t else -1)
    return answers
