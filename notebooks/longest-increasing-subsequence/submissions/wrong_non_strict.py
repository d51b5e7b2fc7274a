from bisect import bisect_right

def lis_length(nums):
    tails = []
    for x in nums:
        i = bisect_right(tails, x)  # lets equal values extend the sequence
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)
