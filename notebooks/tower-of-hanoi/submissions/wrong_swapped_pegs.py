def hanoi(n):
    moves = []

    def move(k, source, target, spare):
        if k == 0:
            return
        move(k - 1, source, target, spare)  # should go to the spare peg first
        moves.append(f"{source}->{target}")
        move(k - 1, spare, target, source)

    move(n, "A", "C", "B")
    return moves
