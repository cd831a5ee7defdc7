"""Hand-written building blocks for the ``classify`` demo project.

Each message is a template with slots (``{gadget}``, ``{order}``, ...) that the generator fills
from the pools below, so a few hundred items read like a real support inbox without repeating
verbatim. The labels next to each template are the answers a careful annotator would give; the
generator uses them for the gold items only.
"""

from __future__ import annotations

# (template, sentiment, topic). Topics: billing, shipping, product quality, account, other.
CLEAR: tuple[tuple[str, str, str], ...] = (
    # --- shipping
    (
        "Order {order} was supposed to arrive on Tuesday. It's now {weekday} and the tracking page still "
        "says 'label created'. Can someone tell me where my package actually is?",
        "negative",
        "shipping",
    ),
    ("Got my {gadget} two days early, nicely packed. Thanks!", "positive", "shipping"),
    ("Wow, {days} business days for 'express' shipping. Truly lightning fast. 🙄", "negative", "shipping"),
    (
        "The courier left the box in the rain outside my building. The {gadget} seems fine but the "
        "packaging was soaked through.",
        "negative",
        "shipping",
    ),
    ("Do you ship to {country}? I couldn't find it in the dropdown at checkout.", "neutral", "shipping"),
    (
        "Tracking says delivered but there is nothing at my door or with the neighbours. Order {order}.",
        "negative",
        "shipping",
    ),
    (
        "Can I change the delivery address on order {order}? I moved last week and forgot to update it.",
        "neutral",
        "shipping",
    ),
    ("Package arrived. Box was crushed on one corner but everything inside was ok.", "neutral", "shipping"),
    ("Shipping was quick and the driver even called ahead. Really appreciated it.", "positive", "shipping"),
    (
        "I paid for next-day delivery and it came in 4 days. I'd like the shipping fee refunded please.",
        "negative",
        "shipping",
    ),
    (
        "Received the wrong colour — ordered the black {gadget}, got a white one. Not a big deal but "
        "how do I swap it?",
        "neutral",
        "shipping",
    ),
    ("Paket ist endlich angekommen, danke! Took a while but all good.", "positive", "shipping"),
    (
        "Is there a way to pick up my order at the {city} store instead of having it delivered?",
        "neutral",
        "shipping",
    ),
    (
        "Half of my order arrived. The other half? No idea. No email, nothing. Order {order}.",
        "negative",
        "shipping",
    ),
    (
        "The tracking link you sent (https://track.example-parcel.com/?id={tracking}) just shows a 404.",
        "negative",
        "shipping",
    ),
    (
        "Great, another 'delivery attempted' notice while I was literally sitting next to the door all day.",
        "negative",
        "shipping",
    ),
    (
        "How long does shipping to {country} usually take? Want to know if it'll arrive before my "
        "sister's birthday on the {date}.",
        "neutral",
        "shipping",
    ),
    # --- billing
    (
        "I was charged twice for order {order} — two identical charges of {amount} on my card statement.",
        "negative",
        "billing",
    ),
    (
        "Refund for the returned {gadget} showed up on my card today. Quick and painless, thank you.",
        "positive",
        "billing",
    ),
    ("Why did my subscription go up from {amount} to {amount2} without any notice?", "negative", "billing"),
    ("Can I get an invoice with my company's VAT number on it? Need it for expenses.", "neutral", "billing"),
    (
        "I cancelled my plan on the 3rd and you still billed me on the 15th. Please fix this.",
        "negative",
        "billing",
    ),
    ("Love that you finally accept PayPal. Made checkout so much easier.", "positive", "billing"),
    (
        "Your checkout page keeps declining my card but my bank says there's no problem on their side.",
        "negative",
        "billing",
    ),
    (
        "Is the annual plan billed upfront or monthly? The pricing page is a bit unclear.",
        "neutral",
        "billing",
    ),
    (
        "Oh good, a 'small service fee' of {amount} that appears only on the very last screen. Classy.",
        "negative",
        "billing",
    ),
    (
        "I used the promo code SPRING20 but the discount wasn't applied. Total was {amount}.",
        "negative",
        "billing",
    ),
    (
        "Thanks {agent} for sorting out the double charge so fast, you were super helpful.",
        "positive",
        "billing",
    ),
    (
        "My refund was approved {days} days ago and I still don't see it. How long does it normally take?",
        "neutral",
        "billing",
    ),
    ("Merci pour le remboursement rapide ! Everything is settled now.", "positive", "billing"),
    (
        "Please stop charging my old card ending in {last4}, I removed it from my account months ago.",
        "negative",
        "billing",
    ),
    ("Does the student discount apply to the {plan} plan as well or only to Basic?", "neutral", "billing"),
    (
        "The receipt email shows <b>Total: {amount}</b> with the tags visible, looks broken in my mail app.",
        "neutral",
        "billing",
    ),
    # --- product quality
    (
        "The {gadget} stopped charging after three weeks. Really disappointed, the last one lasted years.",
        "negative",
        "product quality",
    ),
    ("Honestly the best {gadget} I've owned. Battery lasts all week.", "positive", "product quality"),
    ("It works. Does what it says, nothing more, nothing less.", "neutral", "product quality"),
    (
        "The left earbud has a constant buzzing sound at low volume. Is that normal?",
        "negative",
        "product quality",
    ),
    (
        "Bought the {gadget} for my dad, he uses it every day and keeps telling me how much he likes it.",
        "positive",
        "product quality",
    ),
    (
        "Great, the 'waterproof' case filled with water on the first swim. Love that for me.",
        "negative",
        "product quality",
    ),
    (
        "Sound quality is amazing but the app that comes with it crashes every time I open the equaliser.",
        "neutral",
        "product quality",
    ),
    (
        "The blender is loud. Like, wake-up-the-whole-house loud. But it crushes ice perfectly.",
        "neutral",
        "product quality",
    ),
    (
        "Screen arrived with a dead pixel right in the middle. I'd like a replacement.",
        "negative",
        "product quality",
    ),
    ("Stitching on the backpack came apart after a month of normal use.", "negative", "product quality"),
    (
        "Surprisingly good for the price. The build feels cheap-ish but it does the job.",
        "neutral",
        "product quality",
    ),
    (
        "This kettle is perfect. Boils fast, no plastic taste, looks great on the counter. 10/10.",
        "positive",
        "product quality",
    ),
    (
        "The size chart said M would fit. It fits like an XS. Quality of the fabric is nice though.",
        "neutral",
        "product quality",
    ),
    (
        "Das Ladegerät wird extrem heiß. Is that a known issue with the {gadget}?",
        "negative",
        "product quality",
    ),
    (
        "Five stars. Would buy again. Already bought a second one for the office.",
        "positive",
        "product quality",
    ),
    ("I wanted to love this {gadget}, I really did.", "negative", "product quality"),
    (
        "The manual at https://example-shop.com/manuals/{sku}.pdf says the filter lasts 6 months, mine was "
        "clogged after 6 weeks.",
        "negative",
        "product quality",
    ),
    ("Not bad. Not great. Battery is fine, camera is meh.", "neutral", "product quality"),
    (
        "Was skeptical after reading the reviews but the {gadget} has been flawless for two months now.",
        "positive",
        "product quality",
    ),
    (
        "Perfect if you enjoy reassembling your chair every week because the screws keep loosening.",
        "negative",
        "product quality",
    ),
    ("La calidad es muy buena, exactly like the photos. Happy with it.", "positive", "product quality"),
    # --- account
    ("I can't log in. The password reset email never arrives (checked spam too).", "negative", "account"),
    (
        "How do I change the email address on my account? The settings page doesn't let me edit it.",
        "neutral",
        "account",
    ),
    ("Please delete my account and all my data. Thank you.", "neutral", "account"),
    ("Two-factor setup was really smooth, nice job on that.", "positive", "account"),
    (
        "Someone logged into my account from {city} and it wasn't me. I already changed my password, what "
        "else should I do?",
        "negative",
        "account",
    ),
    ("My account got locked after I typed my password wrong twice?? Twice??", "negative", "account"),
    (
        "Can I merge my two accounts? I accidentally made a second one with my work email.",
        "neutral",
        "account",
    ),
    ("The new dashboard is so much cleaner. Found my order history in two clicks.", "positive", "account"),
    (
        "Your app logged me out for the fifth time today. Each time I have to re-enter a 2FA code.",
        "negative",
        "account",
    ),
    (
        "Where can I download all my data? I'd like a copy before I switch to the {plan} plan.",
        "neutral",
        "account",
    ),
    (
        "The username field says '&lt;script&gt;' is not allowed — I wasn't trying anything, my nickname "
        "just has angle brackets in it.",
        "neutral",
        "account",
    ),
    (
        "Hi, I'm {name}, I'm trying to add my partner as a second user on our family plan but the invite "
        "link expired.",
        "neutral",
        "account",
    ),
    ("Finally! Thank you for adding 'Sign in with Apple'.", "positive", "account"),
    # --- other
    ("Do you have any openings for part-time work at the {city} store?", "neutral", "other"),
    (
        "Just wanted to say {agent} at your {city} store was incredibly kind to my kids today. Thank you!",
        "positive",
        "other",
    ),
    ("Are you planning to make a version of the {gadget} for left-handed people?", "neutral", "other"),
    ("Your website has been down for an hour. Is there a status page somewhere?", "negative", "other"),
    ("Is the store open on public holidays?", "neutral", "other"),
    ("Love the new ad campaign with the dog 😂", "positive", "other"),
    (
        "Why does every single email from you start with 'Great news!'? It's never great news.",
        "negative",
        "other",
    ),
    ("Can you recommend a case that fits both the {gadget} and the charging dock?", "neutral", "other"),
    ("I'd like to give feedback about your recycling program — where should I send it?", "neutral", "other"),
    ("Hola, ¿tienen atención al cliente en español? Thanks.", "neutral", "other"),
    ("ok", "neutral", "other"),
    ("thanks", "positive", "other"),
    ("Please stop sending me marketing texts. I've replied STOP three times.", "negative", "other"),
    ("Is there a warranty extension for the {gadget} if I register it online?", "neutral", "other"),
    (
        "Your chatbot told me to 'try turning it off and on again' for a billing question. Impressive.",
        "negative",
        "other",
    ),
    ("What does <i>refurbished</i> actually mean on your site? New battery or not?", "neutral", "other"),
)

# Mixed or ambiguous messages, labelled by their main point: good for showing disagreement, never gold.
AMBIGUOUS: tuple[tuple[str, str, str], ...] = (
    (
        "The {gadget} itself is great but delivery took {days} days and nobody answered my emails.",
        "negative",
        "shipping",
    ),
    (
        "Arrived fast, but it's already making a grinding noise. Not sure if I should return it yet.",
        "negative",
        "product quality",
    ),
    ("I guess it's fine? I expected more for {amount} but it works.", "neutral", "product quality"),
    (
        "Refund processed, but it took three calls and {days} days. Glad it's done I suppose.",
        "neutral",
        "billing",
    ),
    ("Well, that was an experience.", "neutral", "other"),
    (
        "Customer service fixed my billing issue in 5 minutes, but I had to wait on hold for 45 to get "
        "there.",
        "neutral",
        "billing",
    ),
    ("Thanks for nothing. Literally — I paid and got nothing. Order {order}.", "negative", "shipping"),
    (
        "Not sure if this is the right place, but my login works on the app and not on the website.",
        "neutral",
        "account",
    ),
)

MESSAGES = CLEAR + AMBIGUOUS

GADGETS: tuple[str, ...] = (
    "wireless earbuds",
    "smartwatch",
    "robot vacuum",
    "coffee grinder",
    "e-reader",
    "air fryer",
    "electric toothbrush",
    "bike light",
    "noise-cancelling headphones",
    "portable speaker",
    "standing desk",
    "baby monitor",
    "fitness tracker",
    "mechanical keyboard",
    "hair dryer",
    "power bank",
    "webcam",
    "smart thermostat",
)
NAMES: tuple[str, ...] = (
    "Priya",
    "Tomasz",
    "Aisha",
    "Mateo",
    "Hannah",
    "Kenji",
    "Olusegun",
    "Léa",
    "Dmitri",
    "Sofia",
    "Grace",
    "Ravi",
    "Chloé",
    "Jonas",
    "Mei",
    "Carlos",
)
AGENTS: tuple[str, ...] = ("Marta", "Dev", "Jordan", "Ines", "Sam", "Yusuf", "Keiko", "Ben")
COUNTRIES: tuple[str, ...] = ("Iceland", "Portugal", "Canada", "Singapore", "Chile", "Norway", "Kenya")
CITIES: tuple[str, ...] = ("Leeds", "Lyon", "Austin", "Kraków", "Melbourne", "Osaka", "Porto", "Denver")
WEEKDAYS: tuple[str, ...] = ("Thursday", "Friday", "Saturday", "Monday")
PLANS: tuple[str, ...] = ("Plus", "Pro", "Family", "Premium")
