def is_palindrome(text):
    cleaned = "".join(filter(str.isalnum, text)).lower()
    return cleaned == "".join(reversed(cleaned))
