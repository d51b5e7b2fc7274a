departure, arrival = input().split()
dh, dm = map(int, departure.split(":"))
ah, am = map(int, arrival.split(":"))
duration = ((ah * 60 + am) - (dh * 60 + dm)) % 1440  # equal times give 0 instead of 24 hours
print(duration // 60, duration % 60)
