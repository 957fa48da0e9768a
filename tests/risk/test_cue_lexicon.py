"""The lexicon by family, and the learned second signal's place in the matcher."""

from dataclasses import replace

import pytest

from app.risk.cues import (
    DEFAULT_LISTS,
    LISTS_DIR,
    CueClass,
    CueListError,
    CueMatcher,
    learned,
    strongest,
)
from app.risk.cues.lists import load_catalogue


def assert_method_cues(matcher: CueMatcher, texts: list[str]) -> None:
    """Each text's strongest cue is a method or an attempt (what alerts supervisors)."""
    for text in texts:
        found = strongest(matcher.match(text))
        assert found is not None and found.cue_class is CueClass.METHOD_OR_ATTEMPT, (text, found)


def test_every_family_has_sources_and_patterns_in_some_list():
    catalogue = load_catalogue()
    used = {ref.split("/")[1].split("#")[0] for ref in CueMatcher.default().pattern_refs()}
    for name, family in catalogue.items():
        assert family.sources, name
        assert name in used, f"family {name} has no pattern in any list"


def test_the_issue_families_are_caught_in_every_language_form():
    matcher = CueMatcher.default().without_scorer()
    examples = {
        "passive_wish": [
            "i wouldnt mind if i didnt wake up tomorrow",
            "kal na uthu to behtar",
            "काश मैं पैदा ही ना होती",
        ],
        "method_research": [
            "what is the least painful way to die",
            "marne ka sabse aasan tarika kya hai",
            "कितनी नींद की गोलियां लेनी पड़ेंगी",
        ],
        "farewell_preparation": [
            "wrote letters for everyone just in case",
            "mummy ke liye chitthi likh di hai",
            "तारीख तय कर ली है",
        ],
        "future_absence": [
            "by sunday i wont be here",
            "kal tak main nahi rahunga",
            "अब किसी को परेशान नहीं करूंगी",
        ],
        "hopelessness": [
            "death sounds peaceful",
            "maut hi sukoon lagti hai",
            "अब मौत ही सुकून लगती है",
        ],
        "means_height_or_rail": ["standing on the bridge", "पुल पर खड़ी हूं", "patri pe baitha hu"],
        # v14: families whose wordings lexicon v14 widened, in each form
        "mood_change": [
            "till last night i was sobbing, now i feel weirdly calm",
            "ab koi chinta nahi, main tayyar hu",
            "कल तक रोती थी, आज अजीब सा सुकून है",
        ],
        "self_harm": [
            "scratching my arm with a safety pin till it bleeds",
            "khud ko hurt karti hu jab akeli hoti hu",
            "ब्लेड से कलाई छीलती हूं",
        ],
        "burden": [
            "i wont bother anyone anymore",
            "mummy papa ko ab aur pareshan nahi karungi",
            "घरवालों को अब और परेशान नहीं करूंगी",
        ],
        "means_poison": [
            "thinking of turning on the gas and going to sleep",
            "gas on karke so jaungi aaj",
            "ज़हर लाके रखा है, सोचता हूं पी जाऊं",
        ],
        "withdrawal_substance": [
            "four days of just chai and smokes",
            "daaru pi raha hu taki kuch feel na ho",
            "बस शराब पीता हूं ताकि कुछ भी महसूस न हो",
        ],
        "self_worth": [
            "im the biggest disappointment in this family",
            "main hi sabse bada failure hu",
            "मैं सबसे बड़ी गलती हूं इस घर की",
        ],
        # v15: having the means, said plainly
        "means_medicine": [
            "I have pills.",
            "ive got a bottle of sleeping pills right here",
            "mere paas goliyan hain",
            "मेरे पास गोलियां हैं",
        ],
    }
    for family, texts in examples.items():
        for text in texts:
            assert family in {m.family for m in matcher.match(text)}, (family, text)


def test_a_list_naming_an_unknown_family_fails_loudly(tmp_path):
    bad = tmp_path / "xx.yaml"
    bad.write_text("language: xx\nversion: 1\nfamilies:\n  vibes:\n    patterns: [a]\n")
    with pytest.raises(CueListError, match=r"xx\.yaml.*not in the catalogue.*vibes"):
        CueMatcher([bad])


def _always_fires() -> learned.LearnedScorer:
    return learned.LearnedScorer(version=9, bias=0.0, threshold=-1e9, weights={})


def _lists():
    return [LISTS_DIR / f"{name}.yaml" for name in DEFAULT_LISTS]


def test_the_scorer_adds_a_warning_sign_flag_when_no_pattern_fires():
    matcher = CueMatcher(_lists(), scorer=_always_fires())
    (match,) = matcher.match("the sky is very blue today")
    assert (match.cue_class, match.pattern_ref, match.family) == (
        CueClass.WARNING_SIGN,
        "learned/v9",
        "learned",
    )


def test_the_scorer_never_changes_what_the_patterns_found():
    plain = CueMatcher.default().without_scorer()
    eager = plain.with_scorer(_always_fires())
    for text in ["i took 800mg of paracetamol", "मैं मरना चाहता हूं", "no point in going on"]:
        assert eager.match(text) == plain.match(text)


def test_a_recognised_false_friend_keeps_the_scorer_quiet():
    eager = CueMatcher.default().with_scorer(_always_fires())
    assert eager.match("this homework is killing me") == []


# What nearly every chat opens and closes with. Each of these was flagged once: the greeting
# by the first weights v6 (no training row was a greeting), the goodbyes by a farewell
# pattern that took a bare "bye" (session 14). None of them is in the training rows.
EVERYDAY_OPENINGS_AND_ENDINGS = [
    "hi, is anyone there?",
    "hello? is someone there",
    "bye, thanks",
    "ok bye",
    "bye all, see you tmrw",
    "chalo bye, kal baat karte hai",
    "ठीक है, बाय",
]

# Everyday sentences that lines of lexicon v7 flagged before they were narrowed (session 14).
EVERYDAY_LINES_V7_WAS_NARROWED_FOR = [
    "phasi hui hu traffic me",
    "saans nahi aati yahan itna dhuan hai delhi me",
    "train wala tarika best hai delhi jaane ka",
    "चाय पीते पीते नहर किनारे बैठा हूं",
    "bill ka hisaab kar diya, sabka hisaab kar diya",
    "i hope i dont wake up late tomorrow",
]


def test_a_chat_s_everyday_greetings_and_goodbyes_raise_no_flag():
    matcher = CueMatcher.default()
    flagged = {text: matcher.match(text) for text in EVERYDAY_OPENINGS_AND_ENDINGS}
    assert {text: found for text, found in flagged.items() if found} == {}


def test_the_narrowed_v7_patterns_leave_everyday_troubles_alone():
    # The patterns only: the learned scorer still flags the tea by the canal (one of its
    # false alarms on ordinary chat, README "Cue detection").
    patterns = CueMatcher.default().without_scorer()
    flagged = {text: patterns.match(text) for text in EVERYDAY_LINES_V7_WAS_NARROWED_FOR}
    assert {text: found for text, found in flagged.items() if found} == {}


# Everyday sentences written beside the lines of lexicons v8 (session 15) and v9 to v15
# (session 18 on), at their words: each shares the words of a new line or guard and must stay
# unflagged by the patterns. Left out since session 21: "we are covering a song called last
# goodbye for the fest", which only v14's title guard kept quiet (that guard hid a seeker's own
# words after a title, below; a flag on a song title only asks the volunteer to look), and
# "there was a time i stopped talking to anyone, counselling helped and im fine now", whose
# guard opens with four words of time and so now ends at "i" (below): the price of never
# hiding a seeker's own words after a story.
EVERYDAY_LINES_THE_LISTS_WERE_CHECKED_AGAINST = [
    "this will be my last exam before summer break!!",
    "friday will be my last day at this job, so excited",
    "i wont be here for the party, travelling to my hometown",
    "if anything happens just call me ok, im at the mall",
    "the terrace door doesnt lock so we go up there to dry clothes",
    "i checked how high the mountain trek goes, 4000m!",
    "i dont think i can keep going with this course, might switch to commerce",
    "i feel so calm now that ive made my decision about which college to join",
    "does it hurt less if you ice it first? tattoo tomorrow",
    "tying a knot in my dupatta so i remember to buy milk",
    "i dont want to feel anything but happy on my birthday",
    "i cant take this heat anymore",
    "im fine with not going to the party",
    "mera charger tu rakh le abhi, kal de dena",
    "plan ready hai goa ka, december mein karenge",
    "jab sab so rahe honge tab main padhai karunga shanti se",
    "mujhe rokna mat, main aaj gym jaunga hi",
    "thigh pe stretch marks hai yaar, shorts nahi pehenti",
    "maine kuch kha liya hai bahar ka, pet mein dard ho raha hai",
    "bas main sirf ek problem hu solve karne ke liye maths mein",
    "chuhe maarne wali dawai le aaye papa, kitchen mein bahut chuhe hai",
    "haircut kar liya aaj phir se",
    "अगले हफ्ते मैं घर पर नहीं रहूँगा, दिल्ली जा रहा हूँ",
    "सिर दर्द के लिए सबसे जल्दी असर करने वाली दवाई कौन सी है",
    "मैंने कल रात कोशिश की थी पढ़ने की पर नींद आ गई",
    "करेला मुझे ज़हर लगता है",
    "एक वक़्त था जब लगता था सब ख़त्म है, वो दौर गुज़र गया, अब मैं ठीक हूँ",
    # Lexicon v9 (issue #20, 2026-12-05): each of these flagged a line written for v9 (or an
    # older line with the same words: a bus that does not stop, not being here on Monday),
    # which was then narrowed or dropped.
    "i want to go to sleep tonight and not wake up till noon",
    "i hope the bus doesnt stop at every stop today, im so late",
    "i hope the car doesnt stop working on the highway again",
    "would be nice to not be here on monday for the test lol",
    "already took the test, just wanted someone to know i passed",
    "nobody will have to deal with me anymore on monday, im switching teams",
    "im just extra work for everyone in this group project lol",
    "last post of the year, read the caption its funny",
    "next diwali i will be gone to the us for my masters",
    "before the results come out ill be gone to goa for a trip",
    "tonights the night, just wanted one person to know i'm proposing",
    "decided tonight is the last night i eat junk food",
    "went to the bridge again for the sunset pics",
    "bought acid for the science project, not for cleaning lol",
    "where do i cut the vein on the mango leaf for the science project",
    "which way hurts the least, wax or threading?",
    "strangely relaxed today, you dont need to check on me, just a cold",
    "i dont cry anymore at sad movies, im calm now",
    "after the surgery everything will be fine forever, doctor said",
    "nowhere to hide from this heat",
    "job ke liye koshish ki thi, nahi hua, aaj fir sochungi kya karna hai",
    "maine chai pee li hai, bas kisi ko batana tha ki main uth gayi",
    "pehle bhi koshish kar chuka hu, fir se waisa hi lag raha hai ye sawal",
    "sab meri wajah se atka hai, maine file submit nahi ki",
    "main na rahu toh sab chain se rahenge, kal main trip pe hu",
    "main sab pe bas ek extra kaam hu aaj, shaadi ki taiyari me",
    "insta pe last post daal diya, caption dhyan se padhna sab lol",
    "diary me sab likh diya hai, agar kuch hua toh call kar dena",
    "zyada der tak pareshan nahi karunga, bas ek sawal hai",
    "zindagi ka kya matlab hai, philosophy class me pucha",
    "kuch theek nahi hua na hoga is wifi ka",
    "tay kar liya hai ki aaj ki raat last hai hostel me",
    "samundar me chalte jaana hai aaj, wapas nahi aana jaldi, mast beach hai",
    "patri pe jaake baithne ka mann kar raha hai? nahi yaar photo ke liye",
    "nas kahan se kaatni chahiye? biology practical me frog ki",
    "ab rona nahi aata movies pe, bas shanti hai",
    "sab hamesha ke liye theek ho jayega is dawai se",
    "bas zero hu main maths me",
    "zero hu main cricket me lol",
    "ye garmi sehna namumkin hai",
    "पहले भी कोशिश कर चुका हूँ, फिर से वैसा ही लग रहा है ये सवाल मुश्किल है",
    "मैंने चाय पी ली है, बस किसी को बताना था कि मैं उठ गई",
    "आखिरी पोस्ट डाली है साल की, सब ध्यान से पढ़ना मज़ेदार है",
    "सबके लिए चिट्ठियाँ लिख दी हैं नए साल की",
    "ज़्यादा देर तक परेशान नहीं करूँगी, बस एक सवाल है",
    "तय कर लिया है, आज की रात आखिरी है हॉस्टल में",
    "समंदर में चलते जाना है आज, वापस नहीं आना जल्दी, मज़ा आ रहा है",
    "कितनी ऊँचाई से गिरने पर पक्का हो जाता है? फिजिक्स का सवाल",
    "दवाई की गोलियाँ फिर से गिन रही हूँ ताकि हफ्ते भर चलें",
    "मुझे किसी बात का डर नहीं, मैं बहादुर हूँ",
    "रोना नहीं आता अब फिल्मों पर, शांति है",
    "मैं हर चीज़ बर्बाद कर देती हूँ किचन में",
    # Lexicon v10 (issue #20, 2026-12-05): each of these flagged a line written for v10 from the
    # v12 pool's misses, which was then narrowed.
    "my will to live is gone until i get coffee lol",
    "decided. saturday, after my parents leave for the wedding, friends are coming over",
    "decided: sunday after my parents go out i am cleaning my whole room",
    "is it quick or do they suffer when fish are caught",
    "the acid is in my room for the chemistry practical",
    "the bridge near my house has no railing on one side, walked there twice today with friends",
    "our terrace has no wall on one side, went up there again for the photo",
    "thinking about stepping off the metro platform at rajiv chowk instead of changing lines",
    "i want to walk onto the platform before the crowd comes in",
    "made marks on my hand with a compass by mistake in the geometry class",
    "just drank something and my throat is burning, too much chilli in that soup",
    "i just swallowed something and my throat is burning, think it was a fish bone",
    "if anything happens call my dad, my phone password is with mom",
    "wrote something for everyone in the yearbook, read it later",
    "drinking coffee so my head goes quiet during exams",
    "i disgust myself when i eat a whole pizza lol",
    "tonight im going to eat pizza, im not gonna change my mind this time",
    "if the flight crashed and i died in an accident everything would be easier for the insurance lol",
    "weed till my head goes blank haha",
    "hoping the fever turns into something serious enough to skip school lol",
    "calm now, i know what im doing",
    "everything ending sounds like relief, this semester has been so long",
    "koi truck hi thok de meri purani scooty ko, saara jhanjhat khatam, insurance mil jayega",
    "dil ruk jaye to sukoon aa jaye itna pyara gaana hai",
    "zinda rehne ke liye khana zaroori hai, jeene ki ichha khatam nahi honi chahiye",
    "aaj raat pizza khaungi, is baar irada nahi badlungi",
    "pul pe railing nahi hai, aaj fir gayi thi photo lene",
    "metro aate hi kood ke andar chadh gayi, seat mil gayi",
    "compass se haath pe lines bana li galti se geometry me",
    "abhi kuch pi liya thanda, pet me jalan ho rahi hai acidity se",
    "ab koi dar nahi lag raha, ajeeb si shanti hai meditation ke baad",
    "ek number ka nalayak hai mera bhai lol",
    "koi wajah nahi bachi jeene ki is game me, sab lives khatam lol",
    "kisi haadse me chala jau to? nahi yaar, helmet pehenta hu",
    "कोई ट्रक ही ठोक दे इस पुरानी गाड़ी को, सारा झंझट खत्म, नई लेंगे",
    "आज रात पिज़्ज़ा खाऊंगी, इस बार इरादा नहीं बदलूंगी",
    "पुल पर रेलिंग नहीं है, आज फिर गई थी फोटो लेने",
    "मेट्रो आते ही कूद के अंदर चढ़ गया",
    "गर्मी में भी जींस पहनती हूँ, आदत है",
    "अभी कुछ पी लिया ठंडा, पेट में जलन है एसिडिटी की",
    "दो हफ्ते पहले कोशिश की थी नौकरी की, किसी को नहीं बताया",
    "अब कोई डर नहीं लग रहा, अजीब सी शांति है योग के बाद",
    "दिल थम जाए तो सुकून, ऐसा गाना है",
    # Lexicon v11 (issue #20, 2026-12-05): each of these flagged a line written for v11 from the
    # v13 pool's misses, which was then narrowed.
    "if the doctor says i have something serious i wont fight it, i'll just follow the diet he gives",
    "if the test shows its cancer i would be relieved they caught it early",
    "an accident happened near my college, that's all i want to talk about today honestly",
    "wouldn't mind if the bus went off the route a bit, with me in it we'd see the lake",
    "whole plan is made, just waiting for the right time to tell my parents about the course",
    "which side of the station has no cctv issue, asking for lost phone",
    "i was about to, then mom called and i stopped, still shaking with laughter",
    "writing to everyone i love for diwali, just in case the post is late",
    "just in case, tying up loose ends at work before my leave",
    "if the doc says its something serious i wont fight it, i'll get a second opinion",
    "wouldn't mind if the bus went off the highway with me in it for a detour to the dhaba",
    "which part of the fort has the lowest wall for kids to climb safely",
    "burnt my hand with a lighter lighting diyas",
    "they deserve better than having to deal with me on the group project",
    "whats the point of any of it, the match got cancelled, i cant find one reason to go",
    "doctor ne kaha kuch serious nahi hai, main ilaaj nahi karwaunga ab",
    "unke liye accha hoga agar main na rahu party mein, wo log enjoy karenge",
    "kya hi fayda hai jeene ka itna tension leke, chill kar",
    "future dikhta hi nahi specs ke bina, andhera sa lagta hai",
    "zindagi mein ab kuch bacha hi nahi fridge mein khane ko lol",
    "meri billi ko khana dena mere jaane ke baad office",
    "daaru ke bina shaadi mein maza nahi, sunn hone ke liye nahi peeta",
    "ek baar pehle bhi kar chuka hu bungee jumping, ab phir wahi haal hai darr ka",
    "alag alag dukaan se samaan liya taaki kisi ko shak na ho surprise ka",
    "डॉक्टर ने कहा कुछ गंभीर नहीं है, इलाज नहीं करवाऊंगा अब",
    "उनके लिए अच्छा होगा अगर मैं न रहूँ मीटिंग में, वो खुलकर बात करेंगे",
    "जिंदगी में अब कुछ बचा ही नहीं है अच्छा टीवी पर",
    "एक बार पहले भी कर चुका हूँ यात्रा, अब फिर वही हाल है थकान का",
    "अब एकदम शांति है, सब साफ हो गया बात करके",
    "मौत ही अब सुकून जैसी लगती है इस गाने में",
    "तीन अलग दुकान से सामान लिया ताकि किसी को शक न हो सरप्राइज़ का",
    "खुद को माचिस से जला लिया दीया जलाते हुए",
    # session 18: benzodiazepine brand names taken as prescribed
    "my psychiatrist put me on alprax 0.25 at night",
    "doctor ne clonotril di hai neend ke liye",
    # Lexicon v12 (issue #20, 2026-12-05): each of these flagged a line written for v12 from the
    # v14 pool's misses, or an older line, which was then narrowed (older en passive_wish lines
    # took sleeping in till noon; the Hindi dose question follows a doctor's prescription).
    # Not here on purpose (session 19's review): sentences whose risk words come with an
    # excuse a seeker might use to hide them (marks on a thigh "from mosquitoes", bruises on
    # a neck "from volleyball"), a passive-wish idiom with a joke after it, and a wish for a
    # train to derail "just kidding". The lists did not flag them then; lexicon v13 flags
    # the two about marks, so that a volunteer takes a look.
    "sleep and never wake up till noon lol",
    "gonna sleep and never wake up till noon lol",
    "i want to sleep and never wake up till noon tomorrow",
    "sleep and not wake up until 2pm, sunday plans",
    "i could sleep forever lol",
    "i hope i dont wake up with a headache tomorrow",
    "i wish i didnt wake up this early on a sunday",
    "i pray that i never wake up to bad news again",
    "woke up in the hospital after my appendix surgery",
    "डॉक्टर ने 0.5 mg नींद की गोली लिखी है, कितनी लेनी चाहिए एक रात में?",
    "i hope my body forgets to wake up at 6 on sunday lol",
    "hope the driver doesnt brake in time for the speed bump, last time my head hit the roof",
    "the bus on the ghat road was shaking and i was like pls let it go down the hill slowly",
    "praying every night that i dont wake up late for my 8am",
    "god please take me back to my childhood days",
    "i asked god to bring me back to kerala soon",
    "today is the day, just wanted someone to know i got the internship!!",
    "tonights the night i finally tell him, just wanted someone to know lol",
    "today is the day!! just wanted someone to know im finally graduating",
    "decided, sunday when everyone is asleep im watching the finale",
    "plans are ready, just waiting for the weekend, dont worry",
    "diwali se pehle sab khatam ho jayega, renovation ka sab plan kar liya hai",
    "दिवाली से पहले सब खत्म हो जाएगा, पेंटिंग का काम, सब तय हो गया",
    "decide kar liya hai, mujhe rokne ki koshish mat karna, goa jaa rahi hu",
    "how fast does the metro pass through rajiv chowk, just curious",
    "rajdhani kitni speed pe chalti hai? bas curious",
    "राजधानी कितनी स्पीड से चलती है? बस ऐसे ही पूछ रहा हूँ",
    "pankhe ko dekhte hue sochti hu kal kya pehnu",
    "watching the locals from the end of the platform is so relaxing, i love trains",
    "counting the trains from the edge of the platform, my nephew loves it",
    "jaan bujh ke roti jala di taaki mummy mujhe kitchen se nikaal de lol",
    "jaanbujhkar pencil kaat di",
    "jee ka first attempt didnt work, round 2 next year",
    "tried twice already, this time it will work, the wifi router i mean",
    "woke up in the er after fainting at the gym",
    "दो बार कर चुका हूँ ये गेम, तीसरी बार कोई गलती नहीं होगी",
    "give my jacket to rohan, he always liked it, he can keep it",
    "give all my notes to riya, she always liked them",
    "meri saari notes rohan ko de dena exam ke liye",
    "मेरी सारी किताबें रोहन को दे देना, वो भी पढ़ेगा",
    "last time sabse mil liya tha diwali pe",
    "you wont need to text me back after sunday, i'll call you",
    "you wont need to check on me after this week, im fine now, therapy helped",
    "next time you call i wont be there, i'm at the hostel",
    "my future looks empty without a plan, need to figure out a career",
    "meri koi value nahi hai is company me",
    "it hurts so much when i run that even breathing feels hard",
    "andar se itna dard hai ki saans lena bhi mushkil, doctor ne kaha gas hai",
    "i drink alone every night, chai with my books",
    "रोज़ रात अकेले पीता हूँ चाय",
    "after months i feel light, decision made, im moving to bangalore",
    "im just a defective person when it comes to mornings lol",
    # Lexicon v13 (issue #20, 2026-12-05, session 20): each of these flagged a line written for
    # v13 from the v16 pool's misses, which was then narrowed.
    "cant wait to sleep and not have to wake up for an alarm tomorrow",
    "i dont see why i should keep going to that gym, its too far",
    "i wont see tomorrows sunrise because i have a late shift",
    "i feel so calm now, everythings sorted for the wedding",
    "feeling so calm, everythings sorted, packed for goa",
    "hugged everyone at the airport, feeling so light and free now",
    "after months of fighting with the landlord i finally feel at peace, we moved",
    "my sister deserves a better life without me borrowing her clothes",
    "one less plate to wash tonight since dad is travelling",
    "one less seat in the car since rahul isnt coming",
    "left all the group chats for exam season, dont want to talk till the exams end",
    "my phone has been on silent for days, i forgot to switch it back",
    "sent my netflix password to my cousin, later on she can use it",
    "got red marks on my neck from the new backpack",
    "lines on my neck from sleeping on the sofa",
    "the marks on my thigh are from my jeans being too tight",
    "marks on my stomach are from the surgery",
    "if i got covid i wouldnt even tell anyone lol",
    "abhi kuch kar liya maine, project submit ho gaya, saans li finally",
    "abhi kuch kar liya, chakkar aa rahe hain gym ke baad",
    "main kahin nahi rahungi is weekend, ghar pe hi hu",
    "kisi ko yaad bhi nahi aayega ki aaj mera birthday hai",
    "future ka plan kuch dikhta nahi abhi, career counsellor se milna hai",
    "light chali gayi, andhera hai bas",
    "kal ka suraj nahi dekhna mujhe, subah 5 baje uthna padta hai lol",
    "kal ka din nahi dekhna chahti, itna boring hai",
    "5th floor kaafi hai ya nahi flat ke liye?",
    "aaj bahut halka lag raha hai, ab pata hai kya karna hai project me",
    "lagta hai sab sulajh gaya, papa maan gaye",
    "jaise sab khatam hone wala hai, semester ka last week",
    "haath pe naye nishaan ban rahe hain mehendi ke",
    "garmi me bhi full sleeves pehenti hu dhoop se bachne ke liye",
    "full sleeves pehenni padti hai, haath kisi ko dikha nahi sakti tattoo wala",
    "har cheez bigaad deti hu main kitchen me lol",
    "mujhse bada nalayak koi nahi maths me 😂",
    "daaru ab roz ki baat ho gayi hai uncle ke liye",
    "saare group se exit kar diya, bahut spam aata hai",
    "kisi se baat nahi karni mujhe abhi, movie dekh rahi hu",
    "काश कोई accident ना हो, सफर लंबा है",
    "खुद को मारने के ख्याल से डर लगता है ऐसा किरदार है नाटक में",
    "किसी को याद भी नहीं आएगी मेरी birthday",
    "आगे का प्लान कुछ दिखता नहीं, counsellor से बात करनी है",
    "लाइट गई, बस अंधेरा है",
    "मेहनत करके भी कुछ नहीं बदलता इस सरकारी दफ्तर में",
    "फैसला हो गया है, अगले हफ्ते से मैं इस flat में नहीं रहूंगा",
    "कल का सूरज नहीं देखना, सुबह की shift नहीं है",
    "पांचवीं मंजिल काफी है या ऊपर वाला flat लें?",
    "आज बिल्कुल ठीक लग रहा है, जैसे सब सुलझ गया हो, पापा मान गए",
    "सबको गले लगाया विदाई में, मन बिल्कुल हल्का है",
    "गर्मी में भी full sleeves पहनती हूँ धूप की वजह से",
    "हाथ पे नए निशान बन रहे हैं मेहंदी के",
    "मुझसे बड़ा नालायक कोई नहीं गणित में 😂",
    "हर चीज़ बिगाड़ देती हूँ मैं किचन में",
    "पापा हर रात थोड़ी whisky लेते हैं, उसके बिना नींद नहीं आती उन्हें",
    "हफ्ते भर से दोस्तों से बात बंद, exam चल रहे हैं",
    "फोन silent पे पड़ा रहता है क्लास में",
    "password और बैंक की details दीदी को भेज दी, बाद में भरना है form",
    "dont worry i wont be anywhere dangerous",
    "aage kuch nazar nahi aata, bahut dhund hai",
    # v14: everyday sentences at the words of the lines written from the v17 pool's misses
    "i attempted in class 11 the physics paper and it went ok",
    "i tried in 12th to get into iit and failed",
    "ive attempted twice in college for the cat exam",
    "this isnt the first time ive tried to fix my sleep schedule",
    "im killing myself at the gym this week lol",
    "im killing myself this week with deadlines",
    "ive decided, im ending it with him tonight",
    "made up my mind, im ending my subscription",
    "i keep thinking about drinking it, the cold coffee in the fridge",
    "stopped fighting with my sister and its a relief",
    "so relieved, the exams are almost over",
    "feeling calm, its almost over, last paper tomorrow",
    "dont worry, the trip plan is all decided",
    "dont worry, im fine, its all decided for the wedding",
    "till yesterday i was crying over the breakup, after talking to my friend i feel lighter",
    "no more stress, im ready for the interview",
    "had an accident and i didnt make it to class",
    "what i did to my arm at the gym yesterday hurts",
    "wearing full sleeves in may to hide my tan",
    "im the biggest loser at fifa lol",
    "what am i living for, just kidding, what time is dinner",
    "i dont eat anymore after 8pm",
    "i dont eat meat anymore",
    "3 days of just water for navratri fast",
    "giving my old notes to my cousin since boards are over for me",
    "the railway is putting up barriers near the tracks at our station",
    "hostel feels so empty during diwali",
    "my flatmate has a stash of sleeping pills in his drawer, im worried about him",
    "kal usko pareshan nahi karungi, aaj bahut ho gaya",
    "bahut ho gaya mera drama sabke liye lol",
    "kis liye jeena? ye to gaana hai",
    "gas on karke so gaya aur doodh jal gaya",
    "gas khol ke chai banayi",
    "acid wala chips khake pani pi lu",
    "ab koi tension nahi, packing ho gayi, main ready hu",
    "kal tak ro rahi thi, therapy ke baad sukoon hai",
    "kuch feel nahi ho raha, thand mein haath sunn hai",
    "main bachu ya na bachu exam mein",
    "kabhi na uthu itni jaldi yaar",
    "sabse bada loser main hi hu ludo mein 😂",
    "khud ko hurt mat karo yaar",
    "compass se haath pe drawing banayi",
    "doctor ne sirf do hafte ke liye neend ki goli di hai, aadhi leti hu",
    "bukhar 101 hai, 6 ghante mein ek dolo theek hai na",
    "pehle sochta tha ki kal na dekhu, ab wo daur guzar gaya",
    "meri behen ne bola ki wo marna chahti hai, mujhe bahut dar lag raha",
    "mere dost ne kalai pe blade se cut kiye, kya karu",
    "khabar mein padha ek student ne fansi laga li hostel mein",
    "ek zamana tha jab roz daaru peeta tha, ab 2 saal se chhod di",
    "रोज़ दवा पी रहा हूँ ताकि खांसी में कुछ महसूस न हो",
    "मैं बचूं या ना बचूं, exam तो देना है",
    "कल तक रो रही थी, मम्मी से बात करके अब सुकून है",
    "पहाड़ों पर अजीब सा सुकून है",
    "अब कोई टेंशन नहीं, पैकिंग हो गई, मैं तैयार हूं",
    "खुद को चोट मत पहुंचाओ",
    "अब और नहीं खा सकता, पेट भर गया",
    "अब और नहीं कर सकता, होमवर्क कल करूंगा",
    "गैस खोल के चाय बना दी",
    "काश मैं इस शहर में आया ही न होता, इतना ट्रैफिक",
    "मैं सबसे बड़ा फैन हूं इस टीम का",
    "उनको अब और परेशान नहीं करूंगी, कल बात करेंगे",
    "कभी न उठूं इतनी जल्दी संडे को",
    "मेरे तोते ने कुछ जहरीला खा लिया, डॉक्टर के पास ले गए",
    "सर दर्द के लिए एक dolo ली थी",
    "रोज़ का जाम अब और नहीं झेला जाता",
    # v15 (session 28), beside the lines for having pills
    "i have pills for my headache, should i take one",
    "i have meds for my anxiety and they help",
    "i have been taking my tablets every morning like the doctor said",
    "mere paas sar dard ki goli hai, chahiye?",
    "mere paas bukhar ki dawai hai",
    "मेरे पास सिर दर्द की गोली है",
    # ... and everyday medication talk after it (a colleague's audit of the first v15 line)
    "I have pills, my doctor prescribed them for anxiety",
    "I have pills to help me sleep",
    "I have pills now, feeling better",
    "mere paas goliyan hain, doctor ne di thi",
    "मेरे पास गोलियां हैं, डॉक्टर ने दी थीं",
]


def test_the_v8_to_v15_patterns_leave_everyday_sentences_at_their_words_alone():
    patterns = CueMatcher.default().without_scorer()
    flagged = {text: patterns.match(text) for text in EVERYDAY_LINES_THE_LISTS_WERE_CHECKED_AGAINST}
    assert {text: found for text, found in flagged.items() if found} == {}


# A guard cancels the patterns its span overlaps, and any guard in a message keeps the scorer
# quiet, so a guard that runs on past its false friend hides what the seeker says next.
# Lexicon v14 had one for titles ("a song called ... .{0,40}") that hid the first three; the
# news, documentary and film guards of earlier lexicons hid the next ones, until a guard that
# opens on someone else's story stopped at the seeker's own words (app/risk/cues/matcher.py,
# OWN_WORDS; session 21).
OWN_WORDS_AFTER_A_FALSE_FRIEND = [
    "there is a song called fade away and honestly i want to die",
    "listening to a song called fade away. i want to die",
    "there is a movie named goodbye and i think i will kill myself tonight",
    "watched a documentary on farmer suicides in maharashtra. i want to die",
    "sorry to be a bother but can you explain the assignment again, honestly i want to die",
    "news mein dekha kota mein ek ladke ne suicide kar liya, sach bolu toh main marna chahti hoon",
    "kal paper me padha kisi ne train ke aage kood ke jaan de di. mujhe bhi jeena nahi hai",
    "खबर में पढ़ा कि कोटा में एक छात्र ने आत्महत्या कर ली, और सच कहूं तो मैं मरना चाहती हूं",
    "फ़िल्म में हीरो छत से कूद जाता है, मुझे भी अब जीना नहीं है",
    "my roommate has a bunch of pills and im scared for her. i might take them all tonight",
    "mera dost bola ki wo marna chahta hai, aur sach bolu toh mujhe bhi marna hai",
    "news mein dekha ek ladki ne fansi laga li, main bhi yahi karungi",
    "मेरी बिल्ली ने जहरीला कुछ खाया और मर गई, अब मैं भी जहर खा लूंगी",
    "ट्रैफिक में फंसी हूं, अब और नहीं झेला जाता, मैं मरना चाहती हूं",
]


def test_a_false_friend_does_not_hide_the_seekers_own_words_after_it():
    matcher = CueMatcher.default()
    missed = [text for text in OWN_WORDS_AFTER_A_FALSE_FRIEND if not matcher.match(text)]
    assert missed == []


# Guards that open in the first person keep their whole span: an idiom, a past told with
# recovery, where the seeker's own words are the false friend.
FIRST_PERSON_FALSE_FRIENDS = [
    "two years ago i tried to end it, im in a much better place now",
    "last year i wanted to die every day, now with my counsellor it's much better",
    "im so embarrassed i want to disappear 🙈",
    "पहले मैं खुद को चोट पहुंचाती थी, अब दो साल से नहीं किया",
]


def test_a_false_friend_told_in_the_first_person_is_still_recognised():
    patterns = CueMatcher.default().without_scorer()
    flagged = [text for text in FIRST_PERSON_FALSE_FRIENDS if patterns.match(text)]
    assert flagged == []


def test_a_pattern_with_an_upper_case_escape_fails_loudly(tmp_path):
    # Patterns are case-folded like messages: \S would silently become \s (nine lines of
    # the Hindi list matched nothing they meant to until lexicon v8).
    bad = tmp_path / "xx.yaml"
    bad.write_text(
        "language: xx\nversion: 1\nfamilies:\n  passive_wish:\n"
        "    patterns: ['mar( \\S+)? gaya']\n",
        encoding="utf-8",
    )
    with pytest.raises(CueListError, match=r"xx/passive_wish#0.*upper-case escape"):
        CueMatcher([bad])


def test_weights_file_is_what_the_corpus_trains_to():
    from tests.support import assert_script_check_passes

    assert_script_check_passes("scripts/train_cue_scorer.py")


def test_weights_with_another_feature_scheme_are_refused(tmp_path):
    trained = learned.train(["i want to die", "nice weather today"], [True, False])
    path = tmp_path / "w.json"
    path.write_text(replace(trained, weights={"a": 1.0}).to_json().replace(learned.FEATURES, "x"))
    with pytest.raises(CueListError, match="feature scheme"):
        learned.load(path)


def test_unbearable_pain_with_the_means_at_hand_is_a_method_cue_not_only_a_warning_sign():
    """The closing note of session 27: "I can't bear it anymore. I have pills." was flagged
    only as unbearable pain; the pills are the means, the strongest cue."""
    matcher = CueMatcher.default()
    assert_method_cues(
        matcher,
        ["I can't bear it anymore. I have pills.", "ab bardasht nahi hota. mere paas goliyan hain"],
    )


# Lexicon v16 (session 29): a method cue alerts every on-call supervisor while a chat is
# unscreened, and a waiting seeker's counts in the flagged group's page at once. Older medicine
# lines flagged a quantity eaten, drunk or taken whatever it was, grams of anything and a
# routine with one's own pills. Each sentence here was a method cue before v16.
EVERYDAY_LINES_V16_NARROWED_FOR = [
    "i had a lot of homework today",
    "i had 3 exams this week",
    "i take 2 buses to college",
    "i drank a lot of water",
    "i ate everything on my plate",
    "we had so many assignments",
    "i had too many samosas lol",
    "took all my courage to text here",
    "i had the whole day off",
    "she took all my stuff",
    "i ate 2 rotis",
    "drank the whole bottle of coke",
    "i ate a whole packet of chips",
    "my phone only gets 4g here",
    "100 grams of paneer in the sabzi",
    "i forgot my pills at home",
    "i need to take my meds now",
    "my meds are helping, i sleep better",
]

# ... and the means, said at the same words, still are (and a method's time or pain asked about,
# which a corpus row had been caught for only by the too-broad medicine line).
MEANS_AT_THE_SAME_WORDS_V16 = [
    "i took 15 of them about 20 min ago",
    "took a lot of pills an hour ago",
    "i took 20 and now i feel dizzy",
    "i already took them. like 30. feeling sleepy",
    "i ate 20 of my moms sleeping pills",
    "drank the whole bottle of phenyl",
    "i drank the whole bottle",
    "took everything in the medicine box",
    "gonna take all my meds at once tonight",
    "i took 12 dolo 650 before messaging you",
    "took 10 grams of paracetamol",
    "did something stupid with the tablets again. cant keep my eyes open",
    "i forgot my pills at home so tonight i will take all of them",
    "how long does drowning take",
    "does hanging hurt",
    "do you feel it when you drown",
]


def test_the_v16_medicine_lines_leave_a_quantity_of_everyday_things_alone():
    patterns = CueMatcher.default().without_scorer()
    flagged = {text: patterns.match(text) for text in EVERYDAY_LINES_V16_NARROWED_FOR}
    assert {text: found for text, found in flagged.items() if found} == {}


def test_the_v16_medicine_lines_still_flag_the_means_at_the_same_words():
    patterns = CueMatcher.default().without_scorer()
    assert_method_cues(patterns, MEANS_AT_THE_SAME_WORDS_V16)


# Lexicon v16's lines written from the misses of cue_means_v2's dev half (a stash, medicines
# moved into the seeker's bag, pills kept back, a heap of them, an attempt with them; emptying
# the box, the strip in hand, a pill taken out every day, how soon a poison acts; pills hidden or
# kept back, a day set to do it with them), and everyday sentences at their words.
MEANS_V16_LINES_FROM_THE_DEV_HALF = [
    "i have a little stash of pills in my room",
    "dads sleeping pills are in my bag now",
    "stopped taking my pills last month and kept them all",
    "swallowed the syrup and a bunch of tablets",
    "i tried with tablets last year",
    "aaj raat dawai ka dabba khaali kar dunga",
    "goliyan haath me hai abhi",
    "roz ek goli nikal leti hu mummy ke dabbe se",
    "sulfas khane ke kitni der baad asar hota hai",
    "एक एक करके गोलियां छुपा के रखी हैं",
    "कल गोलियों से करूँगी",
]
EVERYDAY_AT_THE_V16_DEV_LINES_WORDS = [
    "my stash of chocolates is gone",
    "moms bp tablets are in my bag, i have to give them to her",
    "i stopped taking my vitamin tablets",
    "doctor gave me a bunch of tablets for my infection",
    "i take a handful of vitamins every morning",
    "tried with tablets for my headache but it didnt help",
    "dawai ka dabba khaali ho gaya, naya lana hai",
    "goliyan haath me hai, bukhar ke liye",
    "roz ek goli nikal ke deti hu nani ko",
    "dawai khane ke kitni der baad khana kha sakte hai",
    "पापा की दवा बचा के रखी है अगली बार के लिए",
    "दवा से ठीक करूँगा ये बुखार",
]


def test_the_v16_lines_from_the_dev_half_flag_the_means_and_not_everyday_sentences():
    patterns = CueMatcher.default().without_scorer()
    assert_method_cues(patterns, MEANS_V16_LINES_FROM_THE_DEV_HALF)
    flagged = {text: patterns.match(text) for text in EVERYDAY_AT_THE_V16_DEV_LINES_WORDS}
    assert {text: found for text, found in flagged.items() if found} == {}


def test_a_drink_called_poison_is_not_a_method_but_drinking_poison_still_is():
    """Lexicon v16's guards, from cue_everyday_v2's dev half: a parent's saying about cold
    drinks flagged a method in all three forms."""
    patterns = CueMatcher.default().without_scorer()
    for text in [
        "my dad says cold drinks are poison for the body lol",
        "papa kehte hai cold drink zeher hai body ke liye",
        "पापा कहते हैं कोल्ड ड्रिंक ज़हर है",
    ]:
        assert patterns.match(text) == [], text
    assert_method_cues(
        patterns,
        [
            "cold drinks are poison, and tonight i will drink the rat poison",
            "i will drink poison",
            "zeher kha lungi",
            "ज़हर खा लूंगी",
        ],
    )


# Lexicon v16, after a colleague's audit of the service: everyday sentences that raised a
# method cue, and method statements at the same words that raised none or only ideation.
EVERYDAY_THE_AUDIT_FOUND = [
    "maine dawai le li",
    "maine apni dawai le li, ab better lag raha hai",
    "maine dawai kha li",
    "मैंने दवाई खा ली",
    "I took my meds and went to sleep",
    "I overdosed on netflix",
    "I jumped off the bus at my stop",
    "I'm standing on the terrace drying clothes",
    "I have a blade for shaving",
    "I have a knife for cutting fruits in my hostel room",
]
MEANS_THE_AUDIT_FOUND = [
    "I'm on the 10th floor balcony and I'm climbing over",
    "आज रात सब ख़त्म कर दूँगा, गोलियाँ तैयार हैं",
    "goliyan taiyaar hai",
    "the pills are ready",
    # ... and what the narrowed lines must still flag
    "maine goliyan kha li",
    "humne dawai kha li hai, ab kuch nahi ho sakta",
    "मैंने अभी दवा खा ली है, अब बस इंतज़ार है",
    "i took my pills and now i will take all the rest",
    "i overdosed on my sleeping pills",
    "i jumped off the bridge",
    "chuhe maarne ki dawai kha li",
]


def test_the_audits_everyday_sentences_are_quiet_and_its_means_are_method_cues():
    patterns = CueMatcher.default().without_scorer()
    flagged = {text: patterns.match(text) for text in EVERYDAY_THE_AUDIT_FOUND}
    assert {text: found for text, found in flagged.items() if found} == {}
    assert_method_cues(patterns, MEANS_THE_AUDIT_FOUND)


# Lexicon v17 (en; v16 for Hinglish and Devanagari), session 30, from a colleague's audit:
# going to water, a bridge or the tracks and not coming back raised no cue at all. Not when
# the return is only later ("till evening", "shaam tak", "जल्दी") or it is a trip.
NOT_COMING_BACK = [
    "I'll go to the lake and not come back",
    "i want to go to the sea and never come back",
    "going to the bridge tonight and im never coming back",
    "main nadi pe jaake wapas nahi aaunga",
    "aaj raat jheel pe jaungi aur wapas nahi aaungi",
    "मैं नदी पर जाकर वापस नहीं आऊंगा",
    "आज रात मैं झील जाऊंगी और वापस नहीं आऊंगी",
    # ... and what a second audit found the first lines missed: a word before the place, a
    # roof, home, no "and", "lol", "for anyone", no "wapas", the other order
    "I'll go to the old bridge and not come back",
    "I'll go to the railway bridge and never come back",
    "I'll go to the lake and never come home",
    "I'm going to the lake. I'm not coming back.",
    "going to the lake, not coming back",
    "I'll go to the lake and not come back lol",
    "I'll go to the roof and not come back",
    "ill go to the river and not come back for anyone",
    "main nadi pe jaake kabhi nahi lautunga",
    "main nadi jaunga aur nahi aaunga wapas",
    "मैं नदी पर जाकर कभी नहीं लौटूंगा",
]
BACK_LATER = [
    "going to the beach and not coming back till evening",
    "ill go to the river and wont come back before dinner",
    "going to the sea for a trip and not coming back till sunday",
    "we went to the lake and never wanted to come back lol",
    "nadi pe ghoomne jaunga aur wapas nahi aaunga shaam tak",
    "dosto ke saath samundar jaunga wapas nahi aaunga jaldi",
    "मैं नदी पर जाकर वापस नहीं आऊंगा जल्दी",
    "i'll go to the sea and not come back home till late",
    "going to the lake for a swim, wont be back for lunch",
    "heading to the terrace to dry clothes, not coming back for an hour",
    "going to the roof for the sunset and not coming back down lol",
    "im going to the river with my cousins, not coming back for two days",
    "going to the lake, not coming home for dinner",
    "chhat pe jaungi kapde sukhane, wapas nahi aaungi abhi",
]


def test_going_to_water_and_not_coming_back_is_a_method_cue_and_a_late_return_is_not():
    patterns = CueMatcher.default().without_scorer()
    assert_method_cues(patterns, NOT_COMING_BACK)
    assert {text: patterns.match(text) for text in BACK_LATER if patterns.match(text)} == {}
