def is_palindrome(text):
    s = "".join(ch for ch in text.lower() if ch.isalnum())
    return all(s[i] == s[-1 - i] for i in range(len(s) // 2))
