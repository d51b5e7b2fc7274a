def find_first(nums, targets):
    answers = []
    for t in targets:
        lo, hi, found = 0, len(nums) - 1, -1
        while lo <= hi:
            mid = (lo + hi) // 2
            if nums[mid] == t:
                found = mid  # stops at the first match it sees, not the first one in the list
                break
            if nums[mid] < t:
                lo = mid + 1
            else:
                hi = mid - 1
        answers.append(found)
    return answers
