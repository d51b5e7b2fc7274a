def merge_intervals(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start < merged[-1][1]:  # intervals that only touch stay apart
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
