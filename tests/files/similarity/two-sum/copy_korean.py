def two_sum(답, 값):
    사전 = {}
    for 문자, 숫자 in enumerate(답):
        목록 = 사전.get(값 - 숫자)
        if 목록 is not None:
            return (목록, 문자)
        if 숫자 not in 사전:
            사전[숫자] = 문자
    return None