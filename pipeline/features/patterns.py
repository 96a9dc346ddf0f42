"""The pattern TABLE for remedy and not-investigated-reason extraction: data only, no logic.

Every rule the extractor knows lives here, so a new phrasing is a new row, not a new branch in code.
``pipeline.features.extract`` compiles the rows and applies the few general rules described in its docstring
(cues in the clause decide the status, blockers cancel triggers, reasons count only after a frame, ...).
``tests/test_extract.py`` compiles every row, so a row the tokenizer could never match fails the tests.

Pattern mini-language (tokens separated by spaces; matching is case-insensitive, on spaCy's blank English tokens,
so "Council's" is two tokens ``council 's`` and "re-assess" three):

* ``word``        the token ``word``
* ``a|b|c``       any of the listed tokens
* ``~lemma``      any inflection of ``lemma`` (``~apologise`` = apologise(s/d), apologising, apologize, ...);
                  irregular forms come from ``IRREGULAR_FORMS``; ``~a|~b|c`` mixes both
* ``NAME``        an UPPER-CASE name from ``TOKEN_CLASSES`` stands for its list of words
* ``?spec``       the token is optional
* ``!spec``       one token that is none of these
* ``_``           any one token
* ``*N``          a gap of zero to N tokens
* ``£``           a pound sign (the amount itself is read from the text with ``AMOUNT_REGEX``)

The first token of a row must be a required word: it is the row's *anchor*.

Rows are a pattern string, or ``(pattern, options)``. Trigger options: ``weak`` (a bare amount such as
"£250 for her distress": dropped when a refund word just before governs it, "a refund of £50 for ..."). Cue
options: ``reach`` (decides a trigger at most this many tokens after it, e.g. possessives "the Council's apology";
-1: never directly), ``scope="clause"`` (governs the rest of its clause: the complainant's wish), ``modal`` (a
"should"/"will" that means a wish inside reported speech), ``reported`` (opens the complainant's reported speech),
``after_only`` (only read after a trigger: "... are a suitable remedy"). Barrier option: ``hard`` (also ends
reported speech).
"""
from __future__ import annotations

# --- word classes usable as UPPER-CASE names inside patterns ---------------------------------------------------------
TOKEN_CLASSES: dict[str, list[str]] = {
    # who gets paid: pseudonyms (single letters), titles, pronouns and family words
    "NAME": ["x", "y", "z", "b", "c", "d", "e", "f", "g", "h", "j", "k", "l", "m", "n", "p", "q", "r", "s", "t", "w",
             "mr", "mrs", "ms", "miss", "dr", "him", "her", "them", "his", "their", "family", "each", "both",
             "complainant", "complainants", "daughter", "son", "mother", "father", "parents", "client", "tenant",
             "child", "carer", "grandmother", "wife", "husband", "sister", "brother", "estate", "partner",
             "daughters", "sons", "children", "representative", "and", "'s", "\u2019s"],
    "DET": ["a", "an", "the", "its", "their", "his", "her", "this", "that", "some", "any", "further", "another",
            "suitable", "appropriate", "new", "proper", "full", "written", "formal", "personal", "small", "modest",
            "substantial", "additional", "extra", "two", "three", "several", "all", "these", "relevant", "wider"],
    "BODY": ["council", "authority", "provider", "home", "trust", "it", "school", "academy", "agency",
             "organisation", "organisations", "bodies", "body", "councils", "both", "they", "care", "landlord",
             "company", "board", "icb", "partnership", "service"],
    "SUBJ": ["he", "she", "they", "b", "c", "d", "e", "f", "g", "h", "j", "k", "l", "m", "n", "p", "q", "r", "s", "t",
             "w", "x", "y", "z", "family", "who", "complainant", "parents", "mother", "father", "daughter", "son",
             "i", "residents", "tenants"],
    "POLICY": ["procedure", "procedures", "policy", "policies", "process", "processes", "practice", "practices",
               "guidance", "protocol", "protocols", "systems", "system", "arrangements", "approach", "handling",
               "checklist", "template", "templates", "leaflet", "website", "forms", "criteria", "scheme", "rules",
               "standards", "training", "contracts", "framework", "operating", "strategy", "strategies"],
    "STAFF": ["staff", "officers", "officer", "workers", "worker", "social", "managers", "employees", "team", "teams",
              "caseworkers", "colleagues", "clerks", "panel", "members", "assessors", "inspectors", "carers",
              "practitioners", "contractors", "drivers", "councillors", "advisers", "personnel", "planners",
              "frontline", "them", "handlers", "navigators", "coordinators"],
    "NUMWORD": ["one", "two", "three", "four", "five", "six", "eight", "ten", "twelve", "1", "2", "3", "4", "5", "6",
                "8", "10", "12", "20", "28", "30", "a"],
    "PERIOD": ["week", "weeks", "month", "months", "days", "day", "working"],
    "HARM": ["distress", "time", "trouble", "uncertainty", "frustration", "upset", "anxiety", "inconvenience",
             "injustice", "lost", "loss", "losses", "missed", "avoidable", "unnecessary", "stress", "worry", "harm",
             "impact", "effect", "delay", "delays", "faults", "fault", "failings", "education", "provision", "unmet",
             "confusion", "disappointment", "lack", "outrage", "inability", "significant", "opportunity", "schooling", "hardship", "damage", "injury", "upset",
             "effects", "inconvenience", "effort", "embarrassment", "suffering", "difficulties", "failure"],
    "PAYWORD": ["financial", "symbolic", "compensation", "redress", "sum", "sums", "remedy", "remedies", "payment",
                "payments", "amount", "award", "settlement", "acknowledgement", "goodwill",
                "money"],
}

# Inflections the regular rules in ``extract.word_forms`` cannot make.
IRREGULAR_FORMS: dict[str, list[str]] = {
    "pay": ["paid"], "repay": ["repaid"], "make": ["made"], "give": ["gave", "given"], "send": ["sent"],
    "write": ["wrote", "written"], "take": ["took", "taken"], "put": ["put"], "set": ["set"],
    "undertake": ["undertook", "undertaken"], "rewrite": ["rewrote", "rewritten"], "say": ["said"],
    "redo": ["redid", "redone"], "bring": ["brought"], "seek": ["sought"], "find": ["found"],
    "come": ["came"], "go": ["went", "gone"], "learn": ["learnt"], "think": ["thought"], "feel": ["felt"],
    "tell": ["told"], "lead": ["led"], "hold": ["held"], "do": ["did", "done", "does"], "be": ["is", "was", "were"],
}

# A trigger whose first token looks past-tense ("apologised", "paid", "refunded") is already done by the body,
# unless a cue right before it says otherwise ("will be refunded", "did not apologise").
PAST_SUFFIXES: tuple[str, ...] = ("ed", "ised", "ized")
PAST_IRREGULAR: tuple[str, ...] = ("paid", "repaid", "made", "gave", "given", "sent", "wrote", "written", "took",
                                   "taken", "undertook", "undertaken", "redone", "redid", "brought", "learnt")

# --- remedy triggers -------------------------------------------------------------------------------------------------
REMEDY_PATTERNS: dict[str, list] = {
    "apology": [
        "~apologise",
        "~apology|apologies",
        "~say|~send|~offer|~give sorry",
        "~express|~expressed ?its|their ~regret",
    ],
    "payment": [
        "~pay ?to ?the ?NAME ?NAME ?NAME ?NAME £",
        "~pay ?to ?the ?NAME ?NAME ?NAME ?DET ?DET ?DET PAYWORD",
        "~pay ?NAME ?NAME ?NAME for|in|towards *3 HARM",
        "~pay ?NAME ?NAME ?NAME ?to|in ?DET ?DET ~recognise|~acknowledge|~reflect|~remedy|~compensate|recognition|acknowledgement",
        "~pay NAME ?NAME ?NAME .|,|;|and|as|within|for|a|an",
        "~pay ?NAME ?NAME ?NAME the difference",
        "~pay ?NAME ?NAME .|,|;|or",
        "~offer ?to ?NAME ?NAME ?NAME ?a|an £",
        "~compensation|~compensate",
        "redress",
        "symbolic|financial ~gesture",
        "financial|monetary|symbolic|acknowledgement|goodwill|distress ~payment|~remedy|~sum|~settlement|~redress|~award|~acknowledgement|~amount|~recognition",
        "~payment|~payments ?of|for|to|in|towards",
        ("£ _ ?each ?to|for|as|in|towards|a ?the|a|an|her|his|their|its|any|all|this|that ?NAME ?NAME ?NAME HARM|recognition|acknowledgement|compensation|redress|symbolic|remedy|recognise|reflect|acknowledge|financial", {"weak": True}),
        ("£ _ ?each to|for NAME", {"weak": True}),
        ("£ _ PAYWORD", {"weak": True}),
    ],
    "service_improvement": [
        "service|services|practice|procedural|process|system|systemic|policy ~improvement|~change",
        "~improve|~change|~update|~amend|~strengthen|~tighten|~revise|~alter|~adjust|~clarify ?DET ?DET ?_ ?_ POLICY|service|services|records|record|recording|communication|communications|complaint|complaints|monitoring|oversight|information|approach|contracts|contract|practice|handling|letters|leaflets|website|guidance",
        "~improve ?DET ?DET how",
        "~remind|~reminder|~reminders",
        "~share|~circulate|~disseminate ?DET ?DET ?_ ?decision|findings|learning|lessons|report *3 with ?DET ?_ ?_ STAFF",
        "~learning|lessons ~learn|~learnt|~identified",
        "~issue|~produce|~publish|~develop|~create|~introduce|~draw ?up ?DET ?DET ?new|updated|revised|clear|clearer|written ?_ guidance|~guideline|~protocol|~checklist|~template|~leaflet|~policy|~procedure|~process|~system|~instructions",
        "~issue|~give ?DET guidance to ?DET ?_ ?_ STAFF",
        "~action plan",
        "~audit|~monitor ?of ?its|their|similar|other|all|the|how|any *2 ~case|~cases|~files|~records|~practice|~compliance|~performance|~quality|~decisions|~arrangements|~service|~services|~provider|~providers|~contract|~contracts|~complaints|~collections|~progress|~delivery|~improvements|~changes|~timescales|~staff|~work",
        "~prevent|~stop|~avoid *4 ~recur|~recurrence|~repeat|~repetition|again|~recurring",
        "~procedural|~process ~change",
        "~change|~improvement to|in ?DET ?DET ?_ ?_ POLICY|service|services|practice|records",
        "~change|~improvement to|in how",
        "~change|~improvement to|in the way",
        "~put ?DET ?_ ?_ POLICY|measures|checks|safeguards|arrangements|monitoring|steps|plan|plans in place",
        # putting right the same fault for others: "write to other families who may be affected"
        "other|similar ?_ ?_ ?_ ?who|which|that ?_ ?may|might|could|have|has|are|were|was|is ?be|been ~affected",
        "anyone|anybody|everyone|others ?else ?_ ?who|which|that ?_ ?may|might|could|have|has|are|were|was|is ?be|been ~affected",
        "~put|~bring ?in place|in ?DET ?_ new|better|clear|revised|improved ?_ POLICY|arrangements|measures|checks|steps|monitoring",
        "~take|~took ?DET steps|action|measures to *4 ~improve|~prevent|~stop|~avoid|~ensure|~make",
        "~report|~reported back",
        "~ensure ?that ?_ STAFF|all|future|its|it|officers *4 ~follow|~know|~understand|are|~aware|~record|~respond|~consider|~use",
        "~make|~making sure ?that ?_ STAFF|all|future|its|it|officers *4 ~follow|~know|~understand|are|~aware|~record|~respond|~consider|~use",
        "~improve",
        "~improvement",
        "~fix|~address|~tackle|~remedy|~resolve ?DET ?_ ~failings|~failures|~weaknesses|~problems|~shortcomings|~gaps in|with ?its|the|their ~service|~services|~system|~systems|~process|~processes|~practice|~practices|~procedures",
        "~act|~acting|~acted on ?its|the|their ~findings|~learning|~lessons|~delays|~failings",
        "~learn|~learned|~learnt ~from ?DET ?_ ~complaint|~complaints|~case|~findings|~mistakes",
        "~set up ?DET ?DET ?_ ?_ POLICY|service|system|register|log|panel|meeting|meetings",
        "~consider|~look ?at ?into how it|they *2 can|could|will|~might ~improve|~change|~prevent",
        "~service|~wider ~improvements",
        "in ?the future",
        "~future ~cases|~complaints|~applications|~requests|~assessments|~decisions|~reviews",
        "~identify|~identified|~draw|~drew|~drawn ?DET ?_ ~learning|~lessons|~improvements",
        "~consider|~identify|~explain|~tell|~show|~report ?DET ?us ?on what|any ?further|wider ~change|~improvement|~learning|~lessons|~steps|~action",
    ],
    "training": [
        "~train|~retrain",
        "~training|~retraining",
        "~refresher",
        "~brief|~debrief ?DET ?_ ?_ STAFF",
    ],
    "procedure_review": [
        "~review|~reconsider|~audit|~revisit its|their|the|how|relevant ?DET ?_ ?_ ?_ POLICY",
        "~review|~revise procedures|policies|policy|practice|practices|guidance|processes|arrangements",
        "~review|~revise|~update ?the|its|their ~information|~letters|~leaflets|~advice|~forms|~templates|~wording|~website|~literature|~publicity|~notices|~signage|~signs|~criteria|~charging|~approach",
        "~carry|~conduct|~undertake ?out a|an ?_ ?internal|wider|full|thorough|management|lessons ~review",
        "~review|~reviewing of|into|to DET ?DET ?DET ?_ POLICY",
        "~review|~reviewing of|into DET BODY 's|’s *4 POLICY|log|logs",
        "~review|~reviewing how it|they|its|staff|officers",
        "~look ?at|into how it|they|its|staff|officers",
        "~look ?at|into DET ?_ ?_ POLICY",
        "POLICY ~review",
        "~review ?of ?DET ?_ ~case ~management|~handling",
        "~review its|their ~approach|~handling|~communications|~arrangements|~working",
    ],
    "reassessment": [
        "~reassess|~reconsider|~redo|~revisit|~reinspect|~rehear|~recalculate|~reinvestigate|~retake|~remake|~redetermine|~reassessment|~reconsideration|~recalculation|~reinvestigation",
        "~carry|~complete|do|~arrange|~start|~hold|~make|~take|~give|~conduct|~undertake ?out DET ?DET ?DET fresh|new|further|proper|full|second|another|independent|holistic|updated|repeat|lawful|correct ?_ ?_ assessment|assessments|review|reviews|decision|decisions|determination|consideration|hearing|appeal|inspection|investigation|panel",
        "fresh|new|proper|repeat|holistic ?_ ?_ assessment|review|decision|hearing|look|consideration|appeal|inspection",
        "afresh|anew",
        "~decide *4 again",
        "~review|~reconsider ?NAME ?NAME ?'s|’s ?_ ?_ needs|case|application|banding|band|eligibility|charges|contribution|entitlement|claim|priority|request|assessment|plan|care|liability|account|bill|circumstances|situation",
        "~look|~consider *2 again|afresh",
        "~restore ?DET ?_ review|appeal ?right|rights",
        "~review ?DET ?NAME ?NAME ?'s ?_ decision|decisions",
        "~assess ?NAME ?NAME ?NAME again",
    ],
    "refund": [
        "~refund|~reimburse|~repay|~reimbursement|~repayment",
        "~pay|~give ?NAME ?NAME ?NAME back",
        "~pay *3 back",
        "~return|~credit ?DET ?DET ?_ ?_ fees|fee|charge|charges|money|deposit|sum|sums|overpayment|contribution|contributions",
        "~credit|~credited ?NAME ?NAME ?'s ?_ account",
        "~waive|~write|~wipe|~cancel|~reduce ?off ?DET ?DET ?_ ?_ fees|fee|charge|charges|bill|invoice|invoices|debt|debts|arrears|costs|surcharge|interest|premium|contribution|contributions|balance|excess|liability",
        "~write|~written off",
        "~waive",
        "~cover|~meet ?DET ?_ ?_ costs|cost|fees|expenses|bills",
    ],
}

# When triggers of different types overlap, the earlier type here wins (the more specific reading).
TYPE_PRECEDENCE: tuple[str, ...] = (
    "refund", "training", "reassessment", "procedure_review", "apology", "payment", "service_improvement",
)

# Matches that cancel a trigger of their type they overlap: the word names no remedy here ("direct payments").
REMEDY_BLOCKERS: dict[str, list[str]] = {
    "payment": [
        "direct|housing|discretionary|benefit|benefits|rent|mortgage|care|fee|fees|tax|support|allowance|subsidiary|guardianship|adoption|fostering|foster|carer|carers|personal|surplus|deposit|advance|late|online|card|bank|school|pension|grant|service|council|pcn|parking|enforcement|kinship|leaving|business|contribution|transport|mileage|ongoing|weekly|monthly|arrears|penalty ~payment",
        "~payment ~team|~plan|~plans|~scheme|~schemes|~arrangement|~arrangements|~card|~method|~terms|~history|~account|~accounts|~system|~request|~requests|~reminder|~date|~dates|~holiday|~holidays|~demand|~demands|~record|~records|~options|~machine|~portal|~agreement",
        "SUBJ ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ~pay|~paying",
        "~pay|~paying|~paid for|towards ?DET ?_ care|tuition|accommodation|private|privately|transport|repairs|works|rent|fees|services|home|nursing|assessments|assessment|legal|lawyer|solicitor|reports|report|therapy|equipment|storage|travel",
        "~pay ?DET ?_ council|business|bill|bills|rent|fees|fee|charge|charges|charging|tax|invoice|invoices|contribution|contributions|costs|debt|arrears|fine|penalty|pcn|premium|mortgage|deposit|balance|instalments|installments|bills",
        "~pay more|less|late|monthly|weekly|upfront|privately|in|by|on|full|twice|back|up|off|out|into|rent|tax|anything|nothing|extra",
        "overpayment|overpayments|underpayment|underpayments",
        "~resume|~restart|~stop|~suspend|~miss|~late|~take|~collect|~chase|~demand|~recover|~process|~receive ?DET ?_ ~payment",
        "~payment she|he|they|it|x|y|z|b ~make|~have",
        "~refund|~repay|~reimburse|~return ?DET ?_ ?_ ~payment",
        "land ~compensation",
        "non - ~payment",
        "having ~paid|~pay",
        "~pay ?NAME ?NAME ?DET ?_ ~refund|~refunds|~back|~costs|~expenses|~fees|~bill|~invoice",
        "~compensation act",
        "unable|able|afford|liable|required|expected|obliged|forced|ordered|told|asked|made|having ?_ to ~pay",
        "~compensation ~claim|~claims|~event|~scheme|~culture",
        "court|landlord|developer|insurer|insurance|contractor|builder|neighbour|tenant|resident|residents|owner|company|parents|he|she ~pay|~paid|~pays|~compensation",
        "through|via|from|by ?the ?_ courts|court|insurer|insurers|insurance|tribunal|landlord|developer *3 ~compensation|~payment|~damages|~redress",
        "~claim|~seek|~pursue|~claiming|~seeking|~pursuing ?for ?DET ~compensation|~damages",
        "~compensation from ?the ?_ ?_ ~insurer|~insurers|~court|~contractor|~developer|~landlord|~insurance",
        "£ _ a|per week|month|year|night|hour|day",
        "£ _ weekly|monthly|annually|pw|pcm",
        "£ _ ?of council|rent|arrears|debt|bill|charge|charges|fees|fee|costs|overpayment|penalty|fine|contribution",
        "~charge|~charged|~bill|~billed|~owe|~owed|~owes|~debt|~arrears|~cost|~costs|~costing|~fine|~fined|~invoice|~invoiced|~valued|~quote|~quoted|~spent|~spend|~price|~raised|~rise|~rose|~increase|~increased|~total|~totalling|~reduced|~reduce|~owing|~worth|~income|~savings|~capital|~threshold|~limit|~above|~below|than ?a ?_ £",
    ],
    "refund": [
        "~repayment|~repay|~repaying of ?an|the ?_ overpayment|overpayments|benefit|loan|debt|grant|funds",
        "SUBJ ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ~repay|~pay|~paying",
        "~ask|~asked|~asking|~require|~required|~order|~ordered|~tell|~told|~demand|~demanded|~seek|~sought|~want|~wanted|~pursue|~pursued|~recover|~recovered|~make|~made NAME ?NAME ?NAME to ~repay|~pay",
        "~recover|~seek|~pursue|~demand|~claw *3 ~repayment|~repayments",
        "~refund|~repayment ~policy|~request|~requests|~claim|~application|~scheme|~rules",
        "council ~tax ~reduction|~reductions",
        "~cancel|~cancelled|~cancelling ?DET ?_ ~appointment|~appointments|~meeting|~meetings|~visit|~visits|~contract|~placement|~booking|~service|~services|~transport|~membership|~tenancy|~licence|~order|~permit|~plan|~package|~care|~assessment|~application|~operation|~event|~collection|~collections|~session|~sessions|~call|~calls|~support|~respite|~scheme|~offer|~allocation|~referral|~review|~hearing|~bid|~bids|~registration",
        "~remove|~removed|~removing *3 from",
        "~reduce|~reduced|~reducing ?DET ?_ ~care|~hours|~support|~package|~service|~services|~provision|~funding|~budget|~payments|~allowance|~benefit|~priority|~band",
        "~cover|~covered|~covering ?DET ?_ ?_ ~costs|~cost|~fees ?of|for ?DET ?_ ~care",
        "SUBJ ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ~cover|~meet ?DET ?_ ?_ ~costs|~cost|~fees",
        "~withdraw|~withdrew|~withdrawn|~withdrawing ?DET ?_ ~offer|~support|~service|~services|~funding|~placement|~application|~appeal|~complaint",
        "~return ?to",
        "~returned|~returning ?home|to",
    ],
    "apology": [],
    "service_improvement": [
        "~improve|~improved|~improving *2 ~condition|~conditions|~health|~wellbeing|~behaviour|~attendance|~progress|~life|~lives|~situation|~chances|~mental|~physical|~mobility|~skills|~prospects|~home|~property|~flat|~house",
        "~change|~changes|~changed|~changing to|in DET ?_ ~care|~package|~contact|~placement|~hours|~plan|~support|~provision|~route|~property|~home|~school|~banding|~band|~application|~building|~circumstances|~needs|~condition|~health|~address|~name|~tenancy|~benefit|~benefits|~income|~rules|~law|~legislation|~regulations",
        "~remind|~reminder|~reminders ?DET ?_ ~letter|~letters|~notice|~notices|~bill|~bills|~fee|~charge|~charges|~email|~emails",
        "~reminder ~notice|~notices|~letter|~letters|~fee|~fees",
        "council|tax|~payment|~parking|~bin|~renewal|~final ~reminder|~reminders",
        "~sent|~send|~sending|~issued|~issue|~received|~receive|~got ?DET ?_ ?_ ~reminder|~reminders",
        "did|does|had|has|was|were|not ~follow|~followed|~following DET ?_ ?_ ~procedure|~policy|~process|~guidance",
        "~audit ~trail",
        "~follow|~followed|~following|~breach|~breached|~ignored|~ignore|~implement|~implemented ?its|the|their ?own ~action ~plan|~plans",
        "~monitoring ~visits|~visit|~officer|~form|~forms|~equipment|~report|~reports",
        "~monitor|~monitored|~monitoring ?DET ?_ ~condition|~health|~progress|~situation|~noise|~site|~property|~child|~children|~attendance|~placement|~care|~collections|~bins|~wellbeing",
        "~stop|~prevent|~avoid *3 ~noise|~nuisance|~parking|~flooding|~damp|~mould|~leaks|~rats|~asb|~vehicles|~traffic",
        "~changes to the|his|her|their ~care|~plan|~package",
        "~planning ~policy|~policies",
        "~home|~road|~highway|~highways|~street|~traffic|~housing|~property|~disabled|~junction|~town|~cycle|~safety ~improvement",
        "~improvement ~project|~projects|~scheme|~schemes|~works|~grant|~grants|~notice|~notices|~area|~order",
    ],
    "procedure_review": [
        "~review|~appeal and|or ~appeal|~review ~process|~processes|~procedure|~procedures|~rights|~stage|~stages",
        "~statutory|~internal|~formal ~review ~process|~procedure",
        "~review|~reviews|~reviewed ~meeting|~meetings|~panel|~hearing|~officer|~request|~requests|~decision|~decisions|~stage",
        "~look ?at|into DET ?_ ~complaint|~complaints|~concerns|~matter|~issues|~case",
        "~consider|~considered|~considering DET ?_ ~complaint|~complaints|~application|~applications|~appeal|~request",
        "~check|~checked|~checking ?DET ?_ ~process",
        "SUBJ ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ~review|~reviewed",
        "~planning|~complaints|~complaint|~assessment|~appeals|~admissions|~statutory|~safeguarding|~allocation|~allocations ~process|~processes|~procedure|~procedures|~policy ~review",
        "~audit|~audited ?DET ?_ ~trail",
    ],
    "reassessment": [
        "~review|~reviews|~reviewed|~reviewing ~meeting|~meetings|~panel|~officer|~request|~requests|~process|~stage|~hearing|~rights|~right|~decision|~procedure|~date|~letter",
        "annual|yearly|statutory|regular|periodic|independent|stage ?_ ~review|~reviews",
        "requested|requesting|asked|asking|sought|wanted|wants|seeking|demanded|refused|lodged|submitted *3 ~review|~reassessment|~reconsideration|~reconsider|~reassess",
        "~right|~rights of|to DET ?_ ~review|~reconsideration",
        "~consider|~reconsider|~considered|~reconsidered|~considering ?DET ?_ ~complaint|~complaints",
        "~new ~assessment was|of|in|~showed|~found",
        "SUBJ ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ?also|then|already|later|eventually|ended|had|has|have|was|is|were|would|will|could|should|must|can|ca|needed|needs|need|not|n't|up|to|being|been ~reassess|~reconsider|~review|~reviewed",
        "~consider ?NAME ?NAME ?'s ?_ ~complaint|~application",
        "~new|further ~review of ?DET ?_ ~policy|~procedure|~procedures|~process|~processes",
        "~fresh ~air",
    ],
    "training": [
        "~training ~centre|~course|~courses|~provider|~placement|~college|~scheme|~allowance|~programme|~opportunities|~opportunity",
        "~trained ~carer|~carers|~staff|~nurse|~nurses|~worker|~workers|~professional|~professionals",
        "~toilet ~training",
        "~apprenticeship|~apprentice",
    ],
}

# --- status cues: the nearest cue before a trigger in its clause decides its status ----------------------------------
# "background" cues (the complainant's wish or complaint) make the trigger no remedy at all: it is dropped.
STATUS_CUES: dict[str, list] = {
    "recommended": [
        "~agree|~agreeing ?to|that|with",
        "~agreed|~accepted|~recommended|~proposed|~suggested|~required|~invited|~directed|~expects|~undertook",
        "~agreement",
        ("will|shall|should|must|'ll|would", {"modal": True}),
        "is|are|was|were to",
        "~need|~needs|~needed ?also to",
        "~recommend|~recommending|~recommendation|~recommendations",
        "~accept|~accepts|~accepted ?DET ?_ ~recommendation|~recommendations|~remedy|~proposal|~proposals|~suggestion",
        "~undertake|~promise|~commit|~committed|~commitment to",
        "within ?_ NUMWORD ?_ PERIOD",
        "~settle|~settled|~resolve|~resolved ?it|the|this|complaint ?by|with",
        "~remedy|~remedies|~remedied ?_ ?_ with|by",
        "~ask|~asked DET ?BODY to",
        "was|were|been asked|told|invited|directed|required to",
        "we|ombudsman|ombudsmen|investigator|i|they ~ask|~asked|~recommend|~recommended|~say|~said|~considered|~suggest|~suggested|~want|~wanted|~require|~required|~made",
        "~ombudsman ?'s ~asked|~recommended|~recommendations|~request|~suggestion",
        "in ~response|~reply to our|the ~ombudsman ?'s ~enquiries|~enquiry|~request|~invitation|~draft",
        "~settlement ?of",
        "this|these|the|such|our ~remedy|~remedies|~action|~actions|~steps ?_ ~include|~including|were|are|was|is|:",
        "~action|~actions|~remedy|~remedies ~agreed|~recommended",
        "the|an|a ~agreed|~recommended|~proposed",
        "~making|~make ~recommendations|~recommendation",
        "~early ~settlement",
        "~put ~right|~remedy ?the|this|any ?_ ~injustice ?,|by|with|through",
        "~recommendations|~remedies ?for|of ?_ ?_ :",
        "to also",
        "~going ~forward",
        # asked to prove a past act: "provide evidence it has reminded staff"
        ("~evidence|~confirmation|~confirm|~show|~demonstrate ?to ?us ?that ?it|they ?has|have", {"reach": 0}),
        ("be|are|is|were|was|as|form|make|makes ?a|an ?_ ~satisfactory|~suitable|~appropriate|~adequate|~fitting|~proportionate|~sufficient|~enough|~fair|~reasonable", {"after_only": True}),
    ],
    "already_by_body": [
        "~already|~previously|~earlier",
        "had|has|have ?also since",
        # a perfect tense right before the remedy word: "the Council has reminded its staff"
        ("has|have|had ?also|now|already|since|recently", {"reach": 0}),
        "~offered|~offering|~offer",
        "has|had|have ?also|already|since ~taken|~made|~given|~sent|~provided|~offered|~arranged|~introduced|~implemented|~completed|~carried|~put|~acted|~undertaken|~done|~started|~begun|~organise|~deliver|~held|~commission",
        ("~gave|~given|~sent|~provided|~made|~arranged|~organised|~delivered|~held|~commissioned|~issued|~introduced|~implemented|~completed|~carried|~took|~put|~acted|~started|~began|~included|~includes|~including", {"reach": 3}),
        ("'s|’s ?own ?existing|earlier|original|initial|prior|first|previous|written|verbal|formal|subsequent|full|offered|stage|complaint|complaints|final|partial|response|recent", {"reach": 0}),
        ("its|their ?own ?existing|earlier|original|initial|prior|first|previous|written|verbal|formal|subsequent|full|offered|partial|recent", {"reach": 0}),
        ("existing|earlier|original|initial|prior|previous|subsequent", {"reach": 0}),
        "in|into ~response|~reply|~replies|~responses ?_ ?to ?DET ?_ ?_ ~complaint|~complaints|~concerns",
        "~complaint ~response|~responses|~reply|~replies",
        "~upheld|~uphold|~accepted|~accepts|~admitted|~admits|~acknowledged|~acknowledges|~recognised ?DET ?_ ~complaint|~complaints|~fault|~failings|~errors|~error|~mistake|~mistakes|~failing|~faults|~delay|~delays ?and|,",
        "whose|which ~included|~includes",
        "the ~council then",
        "by the time",
        "before we|the ~ombudsman",
        "~once ?_ ?_ ~raised",
        "in its|their ~stage",
        "at ~stage ~one|~two|~1|~2",
        ("~unhappy|~dissatisfied|~satisfied|~disputed|~disputes|~rejected|~refused|~declined|~accepted with|about ?DET ?_", {"reach": 3}),
    ],
    # Negation is local: each cue reaches only a few tokens ("did not apologise or pay").
    "negated": [
        ("not|never|no|n't|nor|neither", {"reach": 5}),
        ("without", {"reach": 2}),
        ("~refuse|~refused|~refusing|~decline|~declined|~declining|~fail|~failed|~failing|~omit|~omitted|~neglected to", {"reach": 6}),
        ("~refusal|~failure to", {"reach": 6}),
        ("should|could|would|ought|might ?to have", {"reach": 3}),
        ("~instead ?of|rather than", {"reach": 2}),
        ("~unwilling|~reluctant to", {"reach": 4}),
        ("~inadequate|~insufficient|~inappropriate|~unsuitable|~inadequately|~belated|~late|~lack|~absence ?of", {"reach": 1}),
    ],
    # The complainant's wish or complaint. scope="clause": the cue governs the rest of its clause
    # ("he wants an apology, compensation and a review"); the others only reach a few tokens.
    "background": [
        ("~want|~wanted|~wanting|~seek|~seeking|~sought|~wish|~wished|~hope|~hoped|~demand|~demanded|~desire|~desired|~expecting|~prefer|~preferred", {"scope": "clause"}),
        ("~ask|~asking|~asks|~asked for", {"scope": "clause"}),
        ("requested|requesting", {"scope": "clause"}),
        ("would like", {"scope": "clause"}),
        ("SUBJ ~ask|~asked|~asking|~asks|~told|~tells|~urged|~pressed ?DET ?BODY ?BODY to", {"scope": "clause"}),
        ("SUBJ ?also ~say|~said|~says|~believe|~believes|~feel|~feels|~felt|~think|~thinks|~argue|~argued|~argues|~consider|~considers|~claim|~claimed|~claims|~insist|~insisted|~insists|~maintain|~maintains ?that ?DET ?BODY ?BODY ?'s ?_ should|must|ought", {"scope": "clause"}),
        ("~outcome|~outcomes|~remedy|~remedies ?that|which ?NAME ?NAME ~want|~wants|~wanted|~sought|~seeks|~asked|~requested", {"scope": "clause"}),
        ("SUBJ ?also ~complain|~complained|~complains|~complaining that|about|of|over", {"scope": "clause"}),
        # reported speech: in "Mr X says ..., and it should improve its procedures" a modal is the complainant's view
        ("SUBJ ?also ~say|~said|~says|~believe|~believes|~feel|~feels|~felt|~think|~thinks|~argue|~argued|~argues|~consider|~considers|~claim|~claimed|~claims|~insist|~insisted|~insists|~maintain|~maintains|~suggest|~suggests|~suggested", {"reported": True, "reach": -1}),
        ("~complaint|~complaints that|about|over|of", {"reach": 3}),
        ("~concerned|~concerns|~upset|~angry that|about|over", {"reach": 3}),
        ("SUBJ ~paid|~spent|had|has|have", {"reach": 2}),
        ("~private|~privately", {"reach": 1}),
        ("~direct", {"reach": 0}),
        ("~claim|~claimed|~claiming|~claims ?for", {"reach": 2}),
        ("~pursue|~pursued|~pursuing|~take|~took|~bring|~brought|~claim legal|court", {"reach": 3}),
        ("~court|~courts|~tribunal|~tribunals|~insurer|~insurers|~judge|~judges|~magistrates|~landlord|~developer|~contractor|~neighbour|~tenant|~landlords|~police", {"reach": 2}),
        ("no ~reason to|for", {"reach": 3}),
        ("~pursue|~pursued|~pursuing|~seek|~seeking|~sought", {"reach": 3}),
        ("if|whether|unless", {"reach": 3}),
        ("~says|~said|~say ?NAME ?NAME ?NAME ?was|is|were|are ~owed|~due|~entitled", {"reach": 3}),
        ("~entitled|~eligible to", {"reach": 2}),
        ("after which", {"reach": 3}),
    ],
}

# Words and marks where a clause ends: a cue does not reach across them.
CLAUSE_BARRIERS: list = [
    # "hard" barriers also end reported speech ("Mr X says ...; the Ombudsman found ... should apologise")
    (";", {"hard": True}), ("\u2014", {"hard": True}), ("\u2013", {"hard": True}), ("but|however", {"hard": True}),
    ("the ombudsman|ombudsmen|investigator", {"hard": True}), ("we", {"hard": True}),
    "because", "although", "though", "while", "whilst", "whereas",
    "unless", "so", "yet", "nonetheless", "nevertheless",
    "as !well|such|part|a|an|long|soon|much|many|far|the|with|in|of|to|if|before|possible|requested|recommended|agreed",
    ", which|who|whom|when|where|after|before|since",
    ", and|but|then|so the|it|she|he|they|we|mr|mrs|ms|miss|its",
    "and then|later|subsequently|afterwards",
    "then",
    "having",
]

# Cues more than this many tokens before a trigger yield to the trigger's own form (past tense -> already done).
ADJACENT_WINDOW = 3
# A cue just after a trigger ("an apology was given", "£300 was agreed") decides it when nothing before does.
FOLLOWING_WINDOW = 6
FOLLOWING_CUE_STATUSES: tuple[str, ...] = ("recommended", "already_by_body")
# Two triggers of one type at most this many tokens apart are one mention ("pay Mr P £2 million in compensation").
SAME_MENTION_GAP = 3
# A bare amount within this many tokens after a trigger of these types belongs to it ("a refund of £50 for ...").
WEAK_GOVERNOR_WINDOW = 5
AMOUNT_GOVERNORS: tuple[str, ...] = ("refund",)

# Types whose past tense alone ("changed its policy", "reviewed the decision") is too often background: they count
# as already done only next to another remedy in the same sentence ("apologised and changed its policy").
PAST_NEEDS_CONTEXT: tuple[str, ...] = ("service_improvement", "procedure_review", "reassessment")

# Status a trigger type takes when neither a cue nor its own form decides it (None: drop the mention).
DEFAULT_STATUS: dict[str, str | None] = {
    "apology": "recommended", "payment": None, "service_improvement": None,
    "training": None, "procedure_review": None, "reassessment": None,
    "refund": None,
}

# --- amounts --------------------------------------------------------------------------------------------------------
# "£300", "£1,250", "£1.5k", "£2 million", "£2m"
AMOUNT_REGEX = r"£\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(k|m|bn|thousand|million)\b)?"
AMOUNT_MULTIPLIERS: dict[str, float] = {"": 1.0, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9}
# How far (characters) after / before a payment word an amount may sit and still belong to it
# (never past the end of the clause or the next remedy word).
AMOUNT_REACH_AFTER = 60
AMOUNT_REACH_BEFORE = 12

# --- not-investigated reasons ---------------------------------------------------------------------------------------
# A reason counts only in a sentence that says the Ombudsman did not (or will not) investigate: that is where LGSCO
# gives its reasons ("We will not investigate ... because ..."); elsewhere the same words are background.
NOT_INVESTIGATED_FRAMES: list[str] = [
    "not|n't|never ?_ ?be ~investigate|~look|~consider|~pursue|~start|~continue|~investigation|~add",
    "~decline|~refuse ?to ~investigate|~look|~consider|~pursue|~take|~intervene",
    "~decide|~decision not|against ?_ ~investigate|~investigating|~look|~looking|~pursue|~pursuing|~take|~taking|~consider",
    "can|~unable|ca not|n't ?to ~investigate|~look|~consider|~question|~review",
    "~stop|~discontinue|~end|~close|~halt ?_ its|the|our|his|her ~investigation|~investigating|~looking|~enquiries",
    "~stop|~discontinue ~investigating|~looking",
    "no further ~investigation|~action|~involvement",
    "assessment code",
    "initial enquiries",
    "not ~investigated|~pursued",
    "without ~investigating|~investigation",
    "outside|beyond ?our|its|the|ombudsman ?'s jurisdiction|remit|powers",
    "no ?legal power|powers|discretion|remit|jurisdiction to ~investigate|~look|~consider",
    "not ~justify|~warrant ?_ ?an|further ~investigation|~investigating",
]

# A sentence starting like this carries on the reasons of the frame sentence before it.
REASON_CONTINUATIONS: list[str] = [
    "this|that is|was ?because|so",
    "because|as|since",
    "the|our reason|reasons",
    "this|that|it is|was due|down to",
]

REASON_PATTERNS: dict[str, list[str]] = {
    "alternative_remedy": [
        "~appeal to ?the|a|an ?_ ?_ ?_ tribunal|tribunals|inspector|inspectorate|court|courts|adjudicator|adjudicators|secretary|commissioner|upper|magistrates|magistrate|panel|ofsted|tpt|send|valuation|county|crown|high|traffic|planning|information|pensions|regulator",
        "right|rights|route ?of|to ~appeal|~review|~challenge",
        "~appeal|~review right|rights|route|process",
        "could|can|able|may|might|reasonable|reasonably|expected|expect|open|available|option|entitled|free *5 ~appeal|court|courts|tribunal|tribunals|insurer|insurers|insurance|legal|judicial|inspectorate|inspector|commissioner",
        "tribunal|tribunals|insurer|insurers|adjudicator|inspectorate|magistrates",
        "court|courts !proceedings|order|orders|case|ruled|decided|has|had|made|found|process|hearing|hearings|judgment|judgement|decision|decisions|action",
        "legal remedy|remedies|route|claim|claims|action",
        "judicial review",
        "small claims",
        "alternative|another|other|proper remedy|remedies|route|routes|forum|means",
        "~claim ?for|against|through ?DET ?_ insurer|insurers|insurance|damages|liability",
        "information commissioner",
        "better|best placed|suited",
        "insurance|liability ~claim",
    ],
    "late": [
        "is|was|are|were|being|came|come|comes|brought|made|complained|complains|raised ?also|too|therefore|far|considerably|partly|simply|well|mostly|largely late !in|paying|payment|payments|charge|charges|fee|fees|night|evening|hours",
        "too late",
        "late complaint|complaints",
        "complaint|complaints|part|parts|matters|issues|events is|was|are|were ?also|too|therefore late",
        "out of time",
        "more|over|longer than ?a twelve|12|one months|month|year",
        "twelve|12 ?- months|month ?time limit|rule",
        "time limit|limits",
        "so|too much time|long has|had passed",
        "~complain|~come|~bring|~raise ?it|this|the|these|them|matters ?_ sooner|earlier",
        "historic|historical|older matters|events|complaint|complaints|issues|concerns|actions",
        "good|sufficient reason|reasons ?_ ?_ ?_ ?to ?use|exercise discretion",
        "discretion to ~investigate|~look|~consider ?_ ?_ late|earlier|older",
        "delay in complaining|bringing|coming",
    ],
    "unlikely_fault": [
        "unlikely|likely|probably|enough|sufficient|little|insufficient|no|thin|thinly|weak|limited|clear|sign|signs|indication|suggestion|nothing *4 evidence|evidenced|~find|finding|~suggest|~show *3 fault|faults|wrongdoing|maladministration|error|errors",
        "evidence|evidenced|sign|signs|indication of ?_ ?_ fault",
        "fault|faults ?by ?the ?_ ?in ?_ ?_ ?_ ?_ ?_ is|was|were|seems|seemed|appears|appeared|would ?be not|too|unlikely|insufficiently|thinly|poorly|weakly",
        "not at fault",
        "no|without fault in|with|by",
        "not sufficiently|adequately evidenced|shown",
        "unlikely to ~find|~show|~identify|~uncover",
        "professional judgement|judgment|judgements|judgments",
        "question the|its merits|decision",
        "merits",
        "entitled to ~make|~reach|~take|~decide|~use",
        "~disagree|disagreement|disagreeing with",
        "no evidence",
        "evidence is|was insufficient|lacking|weak|thin",
        "did|does|would|could not ~find|~see|~identify ?any fault",
        "no|little sign|signs|indication",
    ],
    "no_significant_injustice": [
        "significant|sufficient|serious|enough|personal|substantial|sufficiently|significantly ?personal injustice",
        "injustice|impact|harm ?_ ?to ?_ ?_ ?is|was|were|would|has|had ?be|been ?not|too|insufficiently|little|minor|small|limited|minimal|slight ?_ ?significant|serious|enough|great|sufficient|justify|warrant",
        "not|no significantly|seriously|directly|personally|sufficiently ~affect|~harm|~disadvantage|~impact",
        "insufficient|not enough|little|no|minimal|minor|limited|small|without|any ?_ injustice",
        "injustice to ~justify|~warrant",
        "no|not worthwhile|meaningful outcome",
        "directly|personally ~affect",
        "not ~cause ?_ ?_ ?_ ?_ ?significant|serious injustice|harm",
        "injustice ~cause|does|did|was|is",
        "worth|worthwhile investigating|pursuing|investigation",
        "not significant|serious enough",
        "claimed|alleged|any injustice",
    ],
    "already_remedied": [
        "already ?been ~remedy|~apologise|~answer|~replace|~backdate|~amend|~change|~update|~arrange|~improve|~put|~provide|~offer|~address|~resolve|~deal|dealt|~give|~take|~do|~uphold|upheld|~accept|~pay|~refund|~agree|~make|~correct|~cancel|~withdraw|~waive|~reconsider|~admit|~acknowledge|~act|~respond|~investigate|~fix|~complete|~carry|~settle|~award|~grant|~review|~reassess|~sort|remedy",
        "~put|~set things|matters|this|it|them right",
        "~put|~set ?_ ?_ ?_ right",
        "~remedy|~resolve the|this|his|her|their|any complaint|matter|injustice|issue|problem",
        "apologised|apologized",
        "~say|~said sorry",
        "nothing|little|no more|further ?_ ?_ to ~achieve|~gain",
        "~admit|~accept|~acknowledge|~uphold|upheld ?DET ?_ ?_ fault|faults|failings|failures|mistakes|mistake|errors|error",
        "made|taken ?DET ?_ improvements|changes|steps",
        "since|now been ~resolve|~settle|~remedy|dealt|~sort|~fix|done|put",
        "has|had|have since ~apologise|~put|~pay|~refund|~review|~provide|~resolve|~correct|~make|~offer|~take|~complete|done|~sort|~fix|~reconsider|~cancel|~backdate|~replace|~finish|~amend|~change|~update|~arrange|~issue|~send|~give|~waive|~withdraw",
        "suitable|appropriate|adequate|proportionate|fitting|satisfactory|sufficient|fair remedy|response|apology|offer",
    ],
    "outside_jurisdiction": [
        "remit",
        "outside|beyond|within|lacks|no ?our|its|the|ombudsman ?'s jurisdiction|remit|powers|scope",
        "can|unable|not allowed|able|permitted to ~investigate|~look|~consider|~review|~question",
        "law|legislation|act ~prevent|~stop|~bar|~say|~exclude|~forbid",
        "law|legislation|act does not allow",
        "court ~proceed|proceedings|~rule|~order|~decide|has|had|case|action",
        "been through|in|before|to the|a court|courts",
        "~affect all|most|everyone|everybody",
        "~affect many|most|all people|residents|of",
        "internal school|matters|management|affairs",
        "school|academy|academies|schools internal|matters|management|discipline|curriculum",
        "employment|personnel|commercial|contractual matter|matters|issue|issues|decisions|dispute",
        "~start|began|~issue|~take court|legal proceedings|action",
        "public bodies|body",
        "has|had|already ?already|now|since used|exercised ?his|her|their|the|its right|rights",
        "has|had ?already|now|since appealed",
        "~lodge|~submit|~make|made ?DET ?_ appeal|appeals",
        "bars|barred|barring",
        "bar on",
        "multiagency",
        "crime|criminal",
        "not something we|the ombudsman",
        "barred|bar from",
        "social housing|registered ?_ landlord|landlords|provider|providers",
        "housing association|associations",
        "administrative function|functions",
        "no power|powers",
    ],
    "not_exhausted_complaints_process": [
        "not yet ~complain|~complete|~finish|~exhaust|~use|been|gone|~follow|had|made|raised|put",
        "not ~complain to the|council|it",
        "~complain ?_ to the council|it|body|provider first",
        "premature|prematurely|too early|first chance|opportunity",
        "~exhaust the|its complaints",
        "chance|opportunity to ~respond|~consider|~deal|~investigate|~answer|~reply|~look",
        "must|should first be allowed|given|have",
        "first be allowed|given",
        "before|until coming|complaining|it|the council|its to us|the ombudsman|has|responded|finished|completed",
        "not finished|completed its complaints",
    ],
}

# Matches that cancel a reason of their label they overlap.
REASON_BLOCKERS: dict[str, list[str]] = {
    "late": [
        "late payment|payments|fees|fee|charge|charges|night|evening|afternoon|hours|response|reply|responses|replies|in",
        "was|were|is late in|with|to|responding|replying|sending|issuing|paying|deciding",
    ],
}
