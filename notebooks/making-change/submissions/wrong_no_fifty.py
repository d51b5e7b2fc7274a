price, paid = map(int, input().split())
change = paid - price
c500 = change // 500
c100 = change % 500 // 100
c10 = change % 100 // 10  # forgets the 50 won coin
print(c500, c100, 0, c10)
print(c500 + c100 + c10)
