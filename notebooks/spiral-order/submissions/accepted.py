def spiral(matrix):
    rows = [list(row) for row in matrix if row]
    out = []
    while rows:
        out.extend(rows.pop(0))
        # turn what is left a quarter to the left, so its right column becomes the top row
        rows = [list(col) for col in zip(*rows)][::-1]
    return out
