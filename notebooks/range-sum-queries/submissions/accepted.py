from itertools import accumulate

def range_sums(nums, queries):
    prefix = list(accumulate(nums, initial=0))
    answers = []
    for left, right in queries:
        answers.append(prefix[right + 1] - prefix[left])
    return answers
