"""The dashboard's words in Korean and English, and how a request picks its language."""

from __future__ import annotations

LANGUAGES = ("en", "ko")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Class dashboard", "ko": "학급 대시보드"},
    "generated": {"en": "Updated", "ko": "갱신 시각"},
    "download": {"en": "Gradebook", "ko": "성적부"},
    "students": {"en": "Students", "ko": "학생"},
    "problems": {"en": "Problems", "ko": "문제"},
    "submissions": {"en": "Submissions", "ko": "제출"},
    "acceptance": {"en": "Accepted", "ko": "정답 비율"},
    "activity": {"en": "Submissions per day", "ko": "일별 제출"},
    "accepted_series": {"en": "accepted", "ko": "정답"},
    "submitted_series": {"en": "submitted", "ko": "제출"},
    "acceptance_chart": {
        "en": "Acceptance rate per problem",
        "ko": "문제별 정답률",
    },
    "verdict_chart": {"en": "Verdicts per problem", "ko": "문제별 채점 결과"},
    "tag_chart": {"en": "Mean mastery per topic", "ko": "주제별 평균 숙련도"},
    "problem": {"en": "Problem", "ko": "문제"},
    "difficulty": {"en": "Difficulty", "ko": "난이도"},
    "attempts": {"en": "Attempts", "ko": "시도"},
    "tried_by": {"en": "Tried by", "ko": "시도한 학생"},
    "solved_by": {"en": "Solved by", "ko": "푼 학생"},
    "acceptance_rate": {"en": "Acceptance", "ko": "정답률"},
    "common_verdicts": {"en": "Common verdicts", "ko": "주요 결과"},
    "median_attempts": {"en": "Median attempts to accept", "ko": "정답까지 시도 (중앙값)"},
    "student": {"en": "Student", "ko": "학생"},
    "solved": {"en": "Solved", "ko": "해결"},
    "rating": {"en": "Rating", "ko": "레이팅"},
    "struggling": {"en": "Struggling with", "ko": "어려워하는 문제"},
    "last_active": {"en": "Last active", "ko": "최근 활동"},
    "recent": {"en": "Recent activity", "ko": "최근 활동"},
    "time": {"en": "Time", "ko": "시각"},
    "verdict": {"en": "Verdict", "ko": "결과"},
    "score": {"en": "Score", "ko": "점수"},
    "nobody": {"en": "No submissions yet.", "ko": "아직 제출이 없습니다."},
    "struggling_note": {
        "en": "Struggling: three or more failed attempts on an unsolved problem without a better score.",
        "ko": "어려워함: 풀지 못한 문제에 세 번 이상 실패했고 점수가 나아지지 않음.",
    },
    "language": {"en": "한국어", "ko": "English"},
    "conversations": {"en": "Tutor conversations", "ko": "튜터 대화"},
    "messages": {"en": "Messages", "ko": "메시지"},
    "no_conversations": {"en": "No tutor conversations yet.", "ko": "아직 튜터 대화가 없습니다."},
    "not_recorded": {
        "en": "Tutor conversations are not recorded: set Transcripts.url "
        "(CODETUTOR_TRANSCRIPTS_URL) on the tutor and the dashboard.",
        "ko": "튜터 대화가 기록되지 않습니다: 튜터와 대시보드에 Transcripts.url "
        "(CODETUTOR_TRANSCRIPTS_URL)을 설정하세요.",
    },
    "role_user": {"en": "Student", "ko": "학생"},
    "role_assistant": {"en": "Tutor", "ko": "튜터"},
    "back": {"en": "Class dashboard", "ko": "학급 대시보드"},
    "mastery_chart": {
        "en": "Mastery per topic (solved/attempts)",
        "ko": "주제별 숙련도 (해결/시도)",
    },
    "mastery_note": {
        "en": "Mastery: the chance to solve a typical (difficulty 3) problem of the topic within three submissions.",
        "ko": "숙련도: 그 주제의 보통 난이도(3) 문제를 세 번 안에 풀 확률.",
    },
    "next_problems": {"en": "Recommended next problems", "ko": "추천 문제"},
    "predicted": {"en": "Predicted success", "ko": "예상 성공률"},
    "reasons": {"en": "Why", "ko": "추천 이유"},
    "first_accepted": {"en": "First accepted", "ko": "첫 정답"},
    "best_score": {"en": "Best score", "ko": "최고 점수"},
    "records": {"en": "Problems tried", "ko": "시도한 문제"},
    "all_submissions": {"en": "All submissions", "ko": "모든 제출"},
    "gradebook_page": {"en": "Gradebook", "ko": "성적부"},
    "similarity": {"en": "Similar submissions", "ko": "유사 제출"},
    "compare_now": {"en": "Compare now", "ko": "지금 비교"},
    "threshold": {"en": "threshold", "ko": "기준값"},
    "compared": {"en": "Students compared", "ko": "비교한 학생"},
    "pairs": {"en": "Similar pairs", "ko": "유사한 쌍"},
    "clusters": {"en": "Groups of three or more", "ko": "세 명 이상 묶음"},
    "top_similarity": {"en": "Highest", "ko": "최고 유사도"},
    "similarity_score": {"en": "Similarity", "ko": "유사도"},
    "shared_tokens": {"en": "Matching tokens", "ko": "일치 토큰"},
    "side_by_side": {"en": "Side by side", "ko": "나란히 보기"},
    "no_pairs": {"en": "No similar pairs.", "ko": "유사한 쌍이 없습니다."},
    "compared_submission": {"en": "Submission compared", "ko": "비교한 제출"},
    "tutor_questions": {"en": "Questions to the tutor", "ko": "튜터 질문"},
    "first_question": {"en": "First question", "ko": "첫 질문"},
    "similarity_note": {
        "en": "Each student's best submission per problem, compared after names, literals, "
        "comments, dead code and the starter code are set aside. Similarity is a reason to "
        "look, not proof.",
        "ko": "문제마다 학생별 최고 점수 제출을 이름, 리터럴, 주석, 죽은 코드, 시작 코드를 "
        "제외하고 비교합니다. 유사도는 살펴볼 이유일 뿐 증거가 아닙니다.",
    },
    "activity_note": {
        "en": "Submission times and tutor use on this problem: a student who asked for many "
        "hints and then matched another's code is a different story from one who did not.",
        "ko": "이 문제의 제출 시각과 튜터 사용: 힌트를 많이 요청한 뒤 다른 학생과 코드가 "
        "일치한 경우는 그렇지 않은 경우와 다르게 봐야 합니다.",
    },
    "highlight_note": {
        "en": "Matching regions are highlighted.",
        "ko": "일치하는 부분이 강조되어 있습니다.",
    },
}

VERDICTS: dict[str, dict[str, str]] = {
    "accepted": {"en": "Accepted", "ko": "정답"},
    "wrong_answer": {"en": "Wrong answer", "ko": "오답"},
    "runtime_error": {"en": "Runtime error", "ko": "런타임 오류"},
    "time_limit_exceeded": {"en": "Time limit", "ko": "시간 초과"},
    "memory_limit_exceeded": {"en": "Memory limit", "ko": "메모리 초과"},
    "output_limit_exceeded": {"en": "Output limit", "ko": "출력 초과"},
    "syntax_error": {"en": "Syntax error", "ko": "문법 오류"},
    "internal_error": {"en": "Internal error", "ko": "내부 오류"},
}


def pick_language(query: str | None, accept_language: str | None) -> str:
    """``query`` (``?lang=``) if it is a language we have, else the first one of
    ``Accept-Language`` we have (by its q order), else English."""
    if query in LANGUAGES:
        return str(query)
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        code = pieces[0].strip().lower().split("-")[0]
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if code in LANGUAGES and q > 0:
            ranked.append((-q, position, code))
    return sorted(ranked)[0][2] if ranked else "en"


def words(lang: str) -> dict[str, str]:
    """Every dashboard word in ``lang``."""
    return {key: value[lang] for key, value in TEXT.items()}


def verdict_names(lang: str) -> dict[str, str]:
    return {key: value[lang] for key, value in VERDICTS.items()}


def title_in(title: dict[str, str], lang: str, fallback: str) -> str:
    """A problem title in ``lang``, else English, else any, else ``fallback``."""
    return title.get(lang) or title.get("en") or next(iter(title.values()), fallback)
