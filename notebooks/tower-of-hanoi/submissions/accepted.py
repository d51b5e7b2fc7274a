def hanoi(n):
    # iterative: move number i goes from peg (i & (i - 1)) % 3 to peg ((i | (i - 1)) + 1) % 3
    pegs = "ABC" if n % 2 else "ACB"
    moves = []
    for i in range(1, 2 ** n):
        source = (i & (i - 1)) % 3
        target = ((i | (i - 1)) + 1) % 3
        moves.append(pegs[source] + "->" + pegs[target])
    return moves
