"""Word and phrase banks for synthetic ad text, written for this project.

Slots in braces are filled per ad: {name} {age} {city} {ethn} {adj} {adj2} {noun} {addr}
{hair} {eyes} {height} {weight} {cup} {qv} {hh} {hr} {area} {sig}. The contact slots
{phone} and {email} are filled last, after the writer's quirks are applied.
"""

from __future__ import annotations

NAMES = (
    "Amber Brandy Candy Destiny Diamond Ebony Jade Kandy Lexi Mia Nikki Paris Roxy Sasha "
    "Tiffany Star Honey Bella Chloe Daisy Gia Harley Ivy Jasmine Kiki Layla Luna Mocha "
    "Nina Peaches Raven Scarlett Skye Summer Trinity Vanessa Willow Xena Yasmin Zoe Aaliyah "
    "Bianca Crystal Dominique Essence Faith Gigi Heaven India Jordyn Keisha Lola Monique "
    "Nadia Olivia Precious Queenie Remy Sapphire Tasha Unique Valentina Whitney Yvette "
    "Ariel Bambi Cherry Dior Eden Fantasia Giselle Hazel Isis Jewel Kylie Lacey Marley "
    "Nova Onyx Porsche Rain Sienna Tori Velvet Amaya Brooklyn Cinnamon Dallas Envy Fiona "
    "Ginger Journey Kat Lana Milan Natalia Octavia Phoenix Rosa Selena Tatiana Veronica "
    "Angel Blossom Carmen Delilah Elena Flor Gabriela Hana Izzy Julissa Karma Lily Maya "
    "Nia Pearl Reina Sugar Tangie Yuki Ming Lin Suki Mimi Coco Lulu Bree Cece Didi Fifi "
    "Alexis Brianna Camila Danielle Erica Francesca Genesis Hailey Imani Jazmin Kassidy"
).split()

STAGE_SURNAMES = (
    "Luv Rose Monroe Diamond Starr Bliss Kiss Marie Love Bunny Doll Angel Honey Rain "
    "Velvet Lux Sky Blaze Belle Dior Jolie Amour Sweets Delight Jewel Storm"
).split()

ETHNICITIES = (
    "Latina|Asian|ebony|blonde|brunette|redhead|exotic|Puerto Rican|Colombiana|Italian|"
    "Brazilian|Thai|Korean|snow bunny|mixed|Cuban|Dominican|Russian|Caribbean|Hawaiian|"
    "Filipina|Japanese|Venezuelan|Jamaican|Persian|Irish|chocolate|caramel|Polynesian"
).split("|")

ADJECTIVES = (
    "sweet sexy petite curvy thick busty upscale classy playful naughty gorgeous stunning "
    "exotic sensual fun flirty bubbly discreet genuine elegant sultry tiny slim juicy "
    "seductive irresistible adorable charming fit tall young mature real independent "
    "luscious delicious bodacious wild tempting cute hot spicy soft smooth tasty"
).split()

NOUNS = (
    "girl doll babe beauty goddess princess angel bombshell hottie cutie sweetheart treat "
    "queen diva kitten bunny companion lady vixen barbie sweetie temptress"
).split()

ADDRESS_TERMS = (
    "gentlemen gents fellas guys boys papi daddy hun baby love handsome sweetie men kings honey"
).split()

HAIR = ("blonde", "brunette", "long black", "red", "honey brown", "jet black", "caramel")
EYES = ("green", "hazel", "brown", "blue", "dark brown", "grey")
HEIGHTS = ("4'11", "5'0", "5'1", "5'2", "5'3", "5'4", "5'5", "5'6", "5'7", "5'8", "5'9")
CUPS = ("32B", "34B", "34C", "36C", "34D", "36D", "38DD", "36DD", "32A", "40DDD")
AREAS = (
    "near the airport|downtown|by the strip|off the freeway|near the mall|uptown|"
    "on the east side|near the stadium|by the beach|in a safe upscale hotel|near the casinos"
).split("|")

# Title skeletons. A writer keeps 2-4 of them (and drifts to others over time).
TITLES = (
    "{adj} {ethn} {noun} {hook}",
    "{hook} {adj} & {adj2} {name}",
    "{name} {hook}",
    "{adj} {noun} {name} - {hook}",
    "{hook}!! {adj} {ethn} {noun} in {city}",
    "Hey {addr} its {name} {hook}",
    "{adj} {ethn} {noun} - {age}",
    "{name} the {adj} {ethn} {noun}",
    "{hook} {hook2}",
    "{adj} {adj2} {ethn} {noun} {hook}",
    "{city}'s favorite {adj} {noun}",
    "{name} * {adj} * {adj2} * {hook}",
    "ur {adj} {noun} next door {hook}",
    "{hook} in {city} {adj} {noun} {name}",
    "{ethn} {noun} {name} {age}yo {hook}",
    "{adj} {noun} {hook} {addr}",
    "{name} is back {hook}",
    "Your {adj} {ethn} fantasy {hook}",
    "{hook} ~ {name} ~ {hook2}",
    "{adj} {noun} with {adj2} curves {hook}",
)

HOOKS = (
    "Incall Specials|Outcalls Available|New in Town|Last Night in Town|Available Now|"
    "Back by Popular Demand|Visiting this Week|Come Play|Lets Have Fun|No Rush|Ready for You|"
    "Spoil Me|Upscale Companion|Treat Yourself|Dont Miss Out|Available 24/7|Top Rated|"
    "Reviewed and Verified|100% Real Pics|Your Secret Fantasy|Car Fun Specials|Late Night Fun|"
    "Here for a Few Days|Early Bird Special|Two Girl Special|Unrushed Fun|Book Now|"
    "Just Arrived|Low Key and Discreet|Best in Town|Sweet Treat|Stress Relief|"
    "All Natural|Real and Ready|Fresh Face|Grand Opening|Lunch Break Special"
).split("|")

GREETINGS = (
    "Hey {addr}",
    "Hi {addr}!",
    "Hello there {addr}",
    "Welcome {addr}",
    "Hola {addr}",
    "Good evening {addr}",
    "Hey there handsome",
    "Whats up {addr}",
    "Hi hi {addr}",
    "Greetings {addr}",
    "Well hello {addr}",
    "Hey you",
)

INTROS = (
    "I'm {name}, a {adj} {ethn} {noun} visiting {city}",
    "My name is {name} and I'm {age}",
    "{name} here, {age} years young and ready to play",
    "They call me {name}",
    "I'm {name}, your {adj} {noun} next door",
    "Its {name} your favorite {ethn} {noun}",
    "Meet {name}, {adj} and {adj2}",
    "I am {name}, {age}, {adj} and {adj2}",
    "This is {name}, just landed in {city}",
    "Im a {adj} {ethn} {noun} named {name}",
    "{name} is the name and pleasing you is my game",
    "Call me {name}, the most {adj} {noun} in {city}",
    "Im {name} and I am brand new to {city}",
    "You found me, {name}, {age}, all natural",
)

DESCRIPTIONS = (
    "{height} {weight}lbs {cup} all natural",
    "I have {hair} hair, {eyes} eyes and a {adj} body",
    "{adj} and {adj2} with curves in all the right places",
    "{cup} {height} with a smile that lights up the room",
    "Petite frame, {hair} hair, {eyes} eyes",
    "{height}, {weight} pounds of pure {adj} fun",
    "Long {hair} hair, soft skin and a {adj} attitude",
    "Thick in the right places and {adj} everywhere else",
    "Measurements {cup} 24 36, {height} tall",
    "I am {adj}, {adj2} and always smell amazing",
    "Tiny waist, big heart, {hair} hair",
    "{eyes} eyes that will pull you right in",
)

PITCHES = (
    "I promise you won't be disappointed",
    "Let me be your escape from the everyday",
    "Come relax and unwind with me",
    "Ill make sure you leave with a smile",
    "Your satisfaction is my top priority",
    "Treat yourself to an unforgettable time",
    "I love to meet new friends and make them feel special",
    "Every moment with me is unrushed and relaxing",
    "Looking for a sweet and fun companion to spend time with",
    "Lets make your fantasy come true",
    "Once you meet me you will be back for more",
    "Leave your worries at the door",
    "I aim to please not to tease",
    "Come see why I am the talk of the town",
    "Take a break from the stress and let me spoil you",
    "Good company and great conversation guaranteed",
)

AVAILABILITY = (
    "Incall and outcall available",
    "Available 24/7",
    "Outcalls only",
    "Incall only {area}",
    "Available all night",
    "Here for a few days only",
    "Available late nights and early mornings",
    "Hosting {area}",
    "I can travel to you",
    "Available now til 4am",
    "Visiting {city} this week only",
    "Same day appointments welcome",
    "Available today, call early",
    "Car dates ok",
)

RATES = (
    "{qv}qv {hh}hh {hr}hr",
    "QV {qv} | HH {hh} | HR {hr}",
    "${hh} half ${hr} hour",
    "Specials {qv} for 15 min",
    "Donations {hh}/{hr}",
    "{hh} half hour special",
    "Rates: {qv}/{hh}/{hr}",
    "hh {hh} hr {hr} no negotiating",
    "Ask about my specials",
    "{qv} quick visit special",
)

RULES = (
    "No AA men",
    "No law enforcement",
    "No blocked calls",
    "Text only",
    "Serious inquiries only",
    "No explicit texts",
    "No drama, no games",
    "No low ballers",
    "Must be clean and respectful",
    "No pimps",
    "Calls only no texts",
    "Screening required",
    "No bait and switch",
    "Rude men will be dismissed",
)

CONTACTS = (
    "Call/text {phone}",
    "Text me {phone}",
    "{phone} ask for {name}",
    "Reach me at {phone}",
    "Call me now {phone}",
    "Text {phone} with your time",
    "{phone}",
    "Call {phone} ask for {name}",
    "Book now {phone}",
    "Hit me up {phone}",
    "Text only {phone}",
    "My number {phone}",
)

EMAIL_LINES = (
    "email {email}",
    "Email me at {email}",
    "{email}",
    "Or write me {email}",
    "Book by email {email}",
)

NO_CONTACT_LINES = (
    "Email me through the site",
    "Reply to this ad to reach me",
    "Contact me through the ad",
    "Message me here first",
    "Use the reply button",
)

SIGNOFFS = (
    "xoxo {name}",
    "Kisses, {name}",
    "See you soon",
    "Dont be shy",
    "Love, {name}",
    "Muah",
    "Hope to hear from you",
    "{name}",
    "Ciao",
    "Your {noun} {name}",
)

# Author-specific signature phrases come from this grammar (~200k combinations).
SIG_OPENERS = (
    "Honestly|Trust me|Real talk|Just so you know|Ask anyone|No lie|Between us|For real|"
    "Believe it or not|Fair warning|Little secret|Heads up|Swear|Truthfully|Babe"
).split("|")
SIG_SUBJECTS = (
    "my smile|my energy|this body|my touch|my vibe|my kisses|my curves|my attitude|my hands|"
    "my company|my laugh|my legs|my accent|my lips|my hugs"
).split("|")
SIG_VERBS = (
    "will melt|is gonna wreck|will brighten|can cure|will spoil|is made for|will turn around|"
    "was built for|keeps winning over|never fails|will calm|is better than|is all you need for"
).split("|")
SIG_OBJECTS = (
    "your whole week|any long day|the stress away|your mood|you {addr}|even the shy ones|"
    "every man in {city}|your worries|a rainy night|your lunch break|the busiest man|"
    "a cold night|your weekend plans|the rest of them|your tired soul"
).split("|")
SIG_ENDINGS = (
    "",
    " lol",
    " ;)",
    " haha",
    " trust",
    " period",
    " no cap",
    " <3",
    " :)",
    " for sure",
    " guaranteed",
    " hehe",
    " just saying",
    " babe",
)

# Disclaimers and rules that many unrelated owners paste (text similarity misleads).
BOILERPLATE = (
    "By contacting me you agree that you are not affiliated with any law enforcement "
    "agency and that any money exchanged is for time and companionship only",
    "All donations are for time and companionship only, anything else that happens is a "
    "choice between consenting adults",
    "I am not affiliated with any agency and I do not work with pimps",
    "100% real recent pictures, what you see is what you get, no bait and switch",
    "Please be respectful, clean and discreet and I will be the same",
    "No blocked calls, no private numbers, no explicit texts",
    "Serious inquiries only, time wasters will be blocked",
    "Screening required for first time friends",
    "Read my whole ad before contacting me please",
    "Outcalls to hotels only, no residences",
    "Please text with your name, age and the time you want to see me",
    "Law enforcement please do not contact this ad",
    "Must be 21 or older, no drama and no disrespect",
    "Replying to this ad means you have no involvement with law enforcement of any kind",
    "Hygiene is a must, shower available",
    "Reviewed and verified on the boards, references accepted",
)

# Popular copy-paste ads reused by many unrelated independents (title, body lines).
POPULAR_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Sexy new girl in town searching 4 a fun date with u",
        (
            "Sexy new girl in town searching 4 a fun date with u",
            "Naughty fresh girl here looking for a great time with you",
            "{phone}",
            "{hh} hh incall or outcall",
        ),
    ),
    (
        "Sweet and discreet {ethn} girl available now",
        (
            "Sweet and discreet girl available now for upscale gentlemen",
            "Clean safe and fun, your satisfaction guaranteed",
            "Call me {phone}",
            "{name}",
        ),
    ),
    (
        "BEST MASSAGE IN TOWN - relax - new staff",
        (
            "Best massage in town, new staff every week",
            "Relaxing table shower, clean private room",
            "Walk ins welcome, open late",
            "{phone}",
        ),
    ),
    (
        "Hot ready and waiting come play with me",
        (
            "Hot ready and waiting come play with me",
            "Lets have some fun tonight, no rush",
            "Text {phone}",
            "{qv}qv {hh}hh {hr}hr",
        ),
    ),
    (
        "Real girl real pics no games {age}",
        (
            "Real girl real pics no games",
            "Independent and drama free",
            "Outcall or incall call {phone}",
            "No blocked calls",
        ),
    ),
    (
        "Looking for a generous gentleman tonight",
        (
            "Looking for a generous gentleman tonight",
            "Im easy going and fun to be around",
            "{phone}",
            "Kisses {name}",
        ),
    ),
    (
        "Lonely tonight? I can fix that",
        (
            "Lonely tonight? Bored? I can fix that",
            "Sweet girl here looking for a good date with you",
            "Text me {phone}",
            "Serious only",
        ),
    ),
    (
        "Grand opening new girls special",
        (
            "Grand opening, new girls, special price",
            "Private clean and safe location",
            "Call {phone}",
            "Open 10am to 2am",
        ),
    ),
)

EMOJI = (
    "💋 💦 🔥 ✨ 🦋 💕 💖 💗 💘 💜 💙 💚 💛 🖤 ❤️ ♥ 🍑 🍒 🍭 🍬 🌹 🌸 🌺 🌴 🌊 🎀 👑 💎 "
    "😘 😍 😉 😜 😈 👅 🙈 🙊 💯 ✔️ ☑️ ❌ 🚫 ‼️ ⭐ 🌟 ⚡ 🍫 🍯 🍓 🥂 🍷 🛁 🚿 ☎️ 📱 📞 ⏳ "
    "🌙 ☀️ 💐 🌷 🐰 🦄 👙 👠 💄 💅 🎉 🌈 ❄️ 🔝 ➡️ 👉 ♋ ☆ ★ ♡ ❣️ 🍾 🧁 🍩"
).split()

DECORATIONS = ("~", "•", "★", "☆", "♥", "**", "==", "|", "__", "♡", "✿", "▬▬", ">>", "::")

# word -> misspelling; each writer keeps a personal subset.
MISSPELLINGS = {
    "you": "u",
    "your": "ur",
    "for": "4",
    "to": "2",
    "please": "plz",
    "with": "wit",
    "discreet": "discrete",
    "available": "availible",
    "definitely": "definately",
    "appointment": "appt",
    "minutes": "mins",
    "gentlemen": "gentelmen",
    "because": "cuz",
    "receive": "recieve",
    "independent": "independant",
    "experience": "experiance",
    "beautiful": "beautifull",
    "tonight": "2nite",
    "night": "nite",
    "love": "luv",
    "boys": "boyz",
    "girl": "gurl",
    "massage": "masage",
    "relax": "relaxx",
    "sexy": "sexxy",
    "the": "da",
    "are": "r",
    "and": "n",
    "pictures": "pics",
    "really": "rlly",
    "little": "lil",
    "what": "wat",
    "special": "speshal",
    "favorite": "fav",
    "hour": "hr",
    "anything": "anythang",
    "thick": "thicc",
}

# Letters that some writers swap for look-alikes in running text.
TEXT_HOMOGLYPHS = {"e": "ε", "l": "ℓ", "a": "α", "o": "σ", "n": "η", "i": "ι"}

EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "ymail.com",
)
EMAIL_WORDS = (
    "kisses luv sweet baby doll xo vip booking dates fun candy honey sexy angel bunny diamond queen"
).split()

CATEGORY_PATH = {
    "escorts": "FemaleEscorts",
    "body rubs": "BodyRubs",
    "women seeking men": "WomenSeekMen",
    "adult jobs": "AdultJobs",
}
