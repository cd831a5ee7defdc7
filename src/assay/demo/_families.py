"""Parametric prompt families: word problems, quiz facts and emails with varied names and numbers.

Each family is a function ``(rng) -> (prompt, good, flawed, flaw)``. The good answer is computed,
so it is always right; the flawed one makes a mistake that people and models really make
(averaging rates, stacking percentages, confusing a country's biggest city with its capital).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

Case = tuple[str, str, str, str]

_NAMES = (
    "Maya",
    "Luis",
    "Amara",
    "Felix",
    "Noor",
    "Tobias",
    "Zara",
    "Hiro",
    "Elena",
    "Kwame",
    "Ines",
    "Oskar",
)
_CITIES = (
    ("Lisbon", "Porto"),
    ("Lyon", "Paris"),
    ("Denver", "Boulder"),
    ("Leeds", "York"),
    ("Munich", "Nuremberg"),
    ("Osaka", "Kyoto"),
)


def _money(x: float) -> str:
    return f"${x:,.2f}"


def discount_tax(rng: random.Random) -> Case:
    item = rng.choice(("jacket", "desk chair", "pair of running shoes", "coffee machine", "backpack"))
    price = rng.choice((40, 60, 80, 120, 150, 240))
    off = rng.choice((10, 15, 20, 25, 30))
    tax = rng.choice((5, 8, 10))
    after = price * (1 - off / 100)
    total = after * (1 + tax / 100)
    wrong = price * (1 - (off - tax) / 100)
    prompt = (
        f"A {item} costs {_money(price)}. It's {off}% off, and then {tax}% sales tax is added to "
        "the discounted price. What do I pay?"
    )
    good = (
        f"Discount: {off}% of {_money(price)} is {_money(price - after)}, so the price becomes "
        f"{_money(after)}.\n\nTax: {tax}% of {_money(after)} is {_money(total - after)}.\n\n"
        f"**You pay {_money(total)}.**"
    )
    flawed = (
        f"The discount and the tax partly cancel out: {off}% − {tax}% = {off - tax}% off in total. "
        f"{off - tax}% of {_money(price)} is {_money(price - wrong)}, so **you pay {_money(wrong)}**."
    )
    return prompt, good, flawed, "calc_error"


def work_rate(rng: random.Random) -> Case:
    a, b = rng.choice(((3, 6), (4, 12), (2, 3), (6, 12), (5, 20), (10, 15)))
    task = rng.choice(("paint a fence", "mow the sports field", "sort the donated books", "tile a bathroom"))
    n1, n2 = rng.sample(_NAMES, 2)
    together = a * b / (a + b)
    hours = int(together)
    minutes = round((together - hours) * 60)
    when = f"{hours} hour{'s' if hours != 1 else ''}" + (f" {minutes} minutes" if minutes else "")
    prompt = (
        f"{n1} can {task} in {a} hours; {n2} needs {b} hours for the same job. How long does it "
        "take if they work together?"
    )
    rate = Fraction(1, a) + Fraction(1, b)
    good = (
        f"Work with rates per hour: {n1} does 1/{a} of the job, {n2} does 1/{b}.\n\n"
        f"Together: 1/{a} + 1/{b} = {rate} of the job per hour, so the job takes "
        f"1 ÷ {rate} = {together:.4g} hours.\n\n**{'About ' if minutes else ''}{when}.**"
    )
    flawed = (
        f"Take the average of the two times: ({a} + {b}) / 2 = {(a + b) / 2:g} hours. Working "
        f"together, they finish in **{(a + b) / 2:g} hours**."
    )
    return prompt, good, flawed, "calc_error"


def round_trip(rng: random.Random) -> Case:
    v1, v2 = rng.choice(((60, 40), (90, 60), (80, 120), (50, 75), (100, 60)))
    d = rng.choice((60, 120, 180, 240))
    start, end = rng.choice(_CITIES)
    avg = 2 * v1 * v2 / (v1 + v2)
    prompt = (
        f"I drove from {start} to {end} ({d} km) at {v1} km/h and came back the same way at {v2} "
        "km/h. What was my average speed for the whole trip?"
    )
    good = (
        f"Average speed is total distance over total time, not the average of the speeds.\n\n"
        f"- There: {d} / {v1} = {d / v1:g} h\n- Back: {d} / {v2} = {d / v2:g} h\n"
        f"- Total: {2 * d} km in {d / v1 + d / v2:g} h\n\n**{avg:.1f} km/h.**"
    )
    flawed = f"The average of {v1} and {v2} km/h is ({v1} + {v2}) / 2 = **{(v1 + v2) / 2:g} km/h**."
    return prompt, good, flawed, "calc_error"


def up_down(rng: random.Random) -> Case:
    p = rng.choice((10, 20, 25, 30, 50))
    what = rng.choice(("A stock", "The rent", "A bike's price", "Our monthly web traffic"))
    net = (1 + p / 100) * (1 - p / 100)
    prompt = f"{what} went up {p}% in January and down {p}% in February. Is it back where it started?"
    good = (
        f"No. Start with 100: after +{p}% it is {100 + p}; {p}% of {100 + p} is "
        f"{(100 + p) * p / 100:g}, so after −{p}% it is {100 * net:g}.\n\n"
        f"**It ends {100 - 100 * net:g}% lower than it started**, because the drop is taken from a "
        "bigger number than the rise was."
    )
    flawed = f"Yes — +{p}% and −{p}% cancel out, so it is exactly back where it started."
    return prompt, good, flawed, "calc_error"


def bill_split(rng: random.Random) -> Case:
    people = rng.choice((3, 4, 5, 6))
    bill = rng.choice((84.0, 126.5, 210.0, 96.4, 152.8))
    tip = rng.choice((10, 15, 18, 20))
    total = bill * (1 + tip / 100)
    each = total / people
    wrong_each = bill / people + tip / people
    prompt = (
        f"Dinner for {people} came to {_money(bill)}. We want to leave a {tip}% tip and split "
        "everything evenly. How much does each person pay?"
    )
    good = (
        f"Tip: {tip}% of {_money(bill)} = {_money(bill * tip / 100)}.\n"
        f"Total: {_money(total)}.\nPer person: {_money(total)} / {people} = **{_money(each)}**."
    )
    flawed = (
        f"Each person pays {_money(bill)} / {people} = {_money(bill / people)}, plus the tip "
        f"split {people} ways: {tip} / {people} = {_money(tip / people)}. "
        f"**{_money(wrong_each)} each.**"
    )
    return prompt, good, flawed, "calc_error"


def recipe_scale(rng: random.Random) -> Case:
    base, want = rng.choice(((4, 6), (6, 9), (4, 10), (8, 12), (2, 5)))
    flour = rng.choice((200, 250, 300, 360))
    butter = rng.choice((80, 100, 120, 150))
    eggs = 2
    f = want / base
    dish = rng.choice(("pancakes", "banana bread", "a quiche", "shortbread"))
    prompt = (
        f"My recipe for {dish} serves {base}: {flour} g flour, {butter} g butter, {eggs} eggs. "
        f"How much of each do I need for {want} people?"
    )
    good = (
        f"Multiply everything by {want}/{base} = {f:g}:\n\n- Flour: {flour * f:g} g\n- Butter: "
        f"{butter * f:g} g\n- Eggs: {eggs * f:g}"
        + (
            " (round to the nearest whole egg, or beat an extra egg and use part of it)"
            if (eggs * f) % 1
            else ""
        )
    )
    add = want - base
    flawed = (
        f"You need {add} more servings, so add {add} × 10 g to the flour and butter and one more "
        f"egg:\n\n- Flour: {flour + add * 10} g\n- Butter: {butter + add * 10} g\n- Eggs: {eggs + 1}"
    )
    return prompt, good, flawed, "calc_error"


# (country, capital, biggest or best-known city that gets mistaken for it, one true fact)
_CAPITALS = (
    ("Australia", "Canberra", "Sydney", "it was purpose-built as a compromise between Sydney and Melbourne"),
    ("Canada", "Ottawa", "Toronto", "it sits on the border between Ontario and Quebec"),
    ("Turkey", "Ankara", "Istanbul", "Atatürk made it the capital in 1923"),
    ("Brazil", "Brasília", "Rio de Janeiro", "it was built from scratch in the late 1950s"),
    ("Switzerland", "Bern", "Zurich", "officially it is the 'federal city' rather than the capital"),
    ("New Zealand", "Wellington", "Auckland", "it is the southernmost capital of a sovereign state"),
    ("Morocco", "Rabat", "Casablanca", "its medina is a UNESCO World Heritage site"),
    ("Nigeria", "Abuja", "Lagos", "it replaced Lagos as the capital in 1991"),
    ("Vietnam", "Hanoi", "Ho Chi Minh City", "it is over 1,000 years old"),
    ("Pakistan", "Islamabad", "Karachi", "it was planned in the 1960s at the foot of the Margalla Hills"),
    ("Tanzania", "Dodoma", "Dar es Salaam", "it became the official capital in 1996"),
    ("Myanmar", "Naypyidaw", "Yangon", "the government moved there in 2005-2006"),
)


def capital(rng: random.Random) -> Case:
    country, cap, big, fact = rng.choice(_CAPITALS)
    prompt = rng.choice(
        (
            f"What's the capital of {country}? One sentence please.",
            f"Quiz night question: capital of {country}? Add one fun fact.",
            f"Is {big} the capital of {country}?",
        )
    )
    good = f"The capital of {country} is **{cap}**, not {big} — {fact}."
    flawed = f"The capital of {country} is **{big}**, its largest and best-known city."
    return prompt, good, flawed, "wrong_fact"


# (recipient, situation, what to ask, subject, the closing line a good email ends with)
_EMAILS = (
    (
        "my landlord",
        "the heating in my flat has been broken since {day}",
        "asking when it will be repaired",
        "Heating not working",
        "Could you let me know when someone can come and repair it?",
    ),
    (
        "my manager",
        "I need to leave early on {day} for a medical appointment",
        "asking if that's ok",
        "Leaving early on {day}",
        "I'll make sure my tasks are covered. Is that ok with you?",
    ),
    (
        "a client",
        "the invoice we sent on {day} had the wrong amount",
        "apologising and attaching a corrected one",
        "Corrected invoice",
        "I'm sorry for the mix-up; the corrected invoice is attached.",
    ),
    (
        "my child's teacher",
        "my son will miss school on {day} for a family wedding",
        "asking for any homework he should catch up on",
        "Absence on {day}",
        "Is there any homework he should catch up on?",
    ),
    (
        "a recruiter",
        "I'm no longer available for the interview on {day} because I accepted another offer",
        "thanking them",
        "Interview on {day}",
        "Thank you very much for your time and help during the process.",
    ),
    (
        "our building's residents",
        "the water will be shut off on {day} from 9 to 12 for pipe repairs",
        "keeping it friendly",
        "Water off on {day}, 9–12",
        "Sorry for the inconvenience, and thanks for your patience!",
    ),
)


def email(rng: random.Random) -> Case:
    to, what, extra, subject, closing = rng.choice(_EMAILS)
    day = rng.choice(("Monday", "Tuesday the 14th", "Thursday", "Friday the 3rd", "next Wednesday"))
    name = rng.choice(_NAMES)
    what = what.format(day=day)
    prompt = f"Write a short email to {to} saying that {what}, {extra}. Sign it {name}."
    body = what[0].upper() + what[1:]
    good = f"Subject: {subject.format(day=day)}\n\nHello,\n\n{body}. {closing}\n\nBest regards,\n{name}"
    if rng.random() < 0.5:
        flawed = (
            f"Dear {to.replace('my ', '').replace('our ', '').title()},\n\nI hope this email finds you "
            "well and that you are having a wonderful week. I am writing to you today regarding a "
            "matter that I feel is important to bring to your attention at this time. As you may or "
            f"may not be aware, {what}. I understand that situations like this can arise and I want "
            "to assure you that I have given this matter a great deal of thought before writing. I "
            "truly value our relationship and the time you take to read my messages. Once again, "
            "I hope you are well, and I look forward to hearing from you at your earliest "
            f"convenience regarding this matter.\n\nWith warmest regards and best wishes,\n{name}"
        )
        return prompt, good, flawed, "verbose"
    flawed = f"Hi,\n\nJust a quick note about {day}. Let me know.\n\n{name}"
    return prompt, good, flawed, "incomplete"


FAMILIES: tuple[tuple[Callable[[random.Random], Case], int], ...] = (
    # (family, how many preference items it contributes); the hand-written cases fill the rest.
    (discount_tax, 14),
    (work_rate, 14),
    (round_trip, 12),
    (up_down, 10),
    (bill_split, 14),
    (recipe_scale, 14),
    (capital, 20),
    (email, 46),
)
