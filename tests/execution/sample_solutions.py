"""Correct, partially correct and wrong solutions of the sample course's exercises, with the fraction of the
points each must earn (the weights are in classroom/courses/sample/*.md)."""

from __future__ import annotations

HELLO_OK = 'name = "Ada"\nprint(f"Hello, {name}!")\n'
FUNCTIONS_OK = "def area(width, height):\n    return width * height\n\n\nprint(area(3, 4))\n"
LISTS_OK = "def total_even(numbers):\n    return sum(n for n in numbers if n % 2 == 0)\n"
PROMPT_OK = """TEMPLATE = "You are a helpful {role}.\\nAnswer in {language}.\\nQuestion: {question}"


def build_prompt(role, language, question):
    return TEMPLATE.format(role=role, language=language, question=question.strip())


def build_few_shot(examples, question):
    parts = [f"Q: {q}\\nA: {a}" for q, a in examples]
    parts.append(f"Q: {question}\\nA:")
    return "\\n\\n".join(parts)


print(build_prompt("tutor", "French", "  What is a loop?  "))
"""

# slug -> [(label, main.py, expected fraction of the points)]
SOLUTIONS: dict[str, list[tuple[str, str, float]]] = {
    "hello": [
        ("correct", HELLO_OK, 1.0),
        ("partial", 'name = "Ada"\nprint("Hello, " + name)\n', 2 / 5),  # no "!": the greeting test fails
        ("wrong", 'name = "Ada"\nprint(nme)\n', 0.0),  # NameError while loading: nothing can be tested
    ],
    "functions": [
        ("correct", FUNCTIONS_OK, 1.0),
        ("partial", "def area(width, height):\n    return width * height or 1\n", 7 / 10),  # area(0, 5) is 1
        ("wrong", "def area(width, height):\n    print(width * height)\n", 0.0),  # prints, returns None
    ],
    "lists-and-loops": [
        ("correct", LISTS_OK, 1.0),
        ("partial", "def total_even(numbers):\n    return sum(n for n in numbers if n % 2 == 0 and n > 0)\n", 0.8),
        ("wrong", 'def total_even(numbers):\n    return "16"\n', 0.0),
    ],
    "prompt-construction": [
        ("correct", PROMPT_OK, 1.0),
        ("partial", PROMPT_OK.replace("question=question.strip()", "question=question"), 13 / 15),
        ("wrong", None, 0.0),  # the starter file as it is
    ],
}
