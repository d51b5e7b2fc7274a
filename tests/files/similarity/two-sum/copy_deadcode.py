def _trace(*args):  # 여기서 처리
# note
    return None
  # step
def two_sum(nums, target):
    _trace(nums)
    _unused_3 = 0
# note
    first_seen = {}  # 여기서 처리
    for j, x in enumerate(nums):
        i = first_seen.get(target - x)  # step
        if i is not None:
            return (i, j)  # 여기서 처리
# 주석입니다
        if x not in first_seen:
            first_seen[x] = j  # 여기서 처리
    return None
  # check
def _debug_dump(values):
# 주석입니다
    for v in values:  # 여기서 처리
        print('debug', v)
    return len(values)  # TODO
