price, paid = map(int, input().split())
change = paid - price
c500, change = divmod(change, 500)
c100, change = divmod(change, 100)
c50, change = divmod(change, 50)
c10 = change // 10
print(c500, c100, c50, c10)
print(c500 + c100 + c50 + c10)
