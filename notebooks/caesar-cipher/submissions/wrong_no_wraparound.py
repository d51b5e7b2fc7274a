def caesar(text, shift):
    out = ""
    for ch in text:
        if ch.isascii() and ch.isalpha():
            out += chr(ord(ch) + shift)
        else:
            out += ch
    return out
