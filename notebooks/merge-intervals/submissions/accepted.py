def merge_intervals(intervals):
    ordered = sorted(intervals, key=lambda iv: iv[0])
    result = []
    i = 0
    while i < len(ordered):
        start, end = ordered[i]
        i += 1
        while i < len(ordered) and ordered[i][0] <= end:
            end = max(end, ordered[i][1])
            i += 1
        result.append([start, end])
    return result
