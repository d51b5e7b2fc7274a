def reverse_words(sentence):
    stack = sentence.split()
    out = []
    while stack:
        out.append(stack.pop())
    return " ".join(out)
