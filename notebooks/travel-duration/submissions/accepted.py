start, end = input().split()
sh, sm = int(start[:2]), int(start[3:])
eh, em = int(end[:2]), int(end[3:])
total = (eh * 60 + em) - (sh * 60 + sm)
if total <= 0:
    total += 1440
print(total // 60, total % 60)
