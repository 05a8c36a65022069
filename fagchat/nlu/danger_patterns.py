"""The Danish wordings of the acute-danger layer (fagchat/nlu/danger.py), as regular expressions.

Each pattern is written over *folded* text (`fold`: lowercase, æ→ae, ø→oe, å→aa, accents
and punctuation dropped, clause boundaries kept as " , "), so one pattern covers both
spellings. The groups: what is dangerous (DANGER), what is acute by its very wording
(DANGER_NOW), what is acute only with a "now" (NEEDS_NOW), the signs of now (NOW, WEAK_NOW),
and what makes a message general, past, hypothetical, a habit or over (the rest).
"""

import re
import unicodedata

_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ä": "ae", "ö": "oe"})


def _p(pattern: str) -> "re.Pattern[str]":
    return re.compile(pattern, re.VERBOSE)


# --- What makes a message acute: danger content × immediacy, unless general or past ----
PERSON = r"(?:hende|ham|mig|os|dem|dig|barnet|boernene|boern|born|min\ klient|klienten|borgeren|patienten|familien|kvinden|manden)"
LOCATION = r"""(?:doer\w*|dor\b|dore\w*|dooren|vindue\w*|rude\w*|hus\w*|lejlighed\w*|bolig\w*|opgang\w*|trappe\w*|gaard\w*|gade\w*
    |bil\w*|indkoersel\w*|have\w*|kontor\w*|skole\w*|institution\w*|boernehave\w*|vuggestue\w*|arbejd\w*|parkering\w*|station\w*
    |supermarked\w*|butik\w*|bro\w*|gang\w*|reception\w*|ventev\w*rels\w*|garderobe\w*|fortov\w*|hegn\w*|krisecent\w*|hjem\w*|matrikel\w*|kaelder\w*|soveva?erelse\w*
    |legeplads\w*|perron\w*|\w*stoppested\w*|venteomraad\w*|entre\w*|hotel\w*|lobby\w*|foyer\w*|postkass\w*|stue\w*|port\w*|badeva?erelse\w*|koekken\w*|altan\w*|carport\w*|skab\w*|hal\b|hallen\w*|\w+hal(?:len)?\b)"""
DANGER = [
    # threats to kill, and threats on life
    _p(r"""\b(?:ihjel|draeb\w*|drab\b|myrd\w*|mord\b|doedstru\w*|dodstru\w*|ikke\ overlev\w*|skyde\w*|skyder|stikke\ \w+\ ned
        |stikker\ (?:mig|hende|dig|ham|os)|kvael\w*|kvaler|kvalt\w*|kvalte|ikke\ (?:kan\ |kunne\ )?traekke\ vejret|om\ halsen|livet\ af\ (?:sig|mig)\ selv|braende\ \w+\ ned|brande\ \w+\ ned|(?:saette|saetter|stikke|stikker|taende|taender)\ (?:\w+\ )?ild\b|paa\ livet|livet\ ud\ af|i\ live|den\ sidste\ dag
        |goere\ det\ af\ med|gjort\ det\ af\ med|afslutte\ det\ her|det\ ender\ i\ (?:dag|aften|nat)|(?:godnat|farvel)\ for\ sidste\ gang|aldrig\ (?:skal\ )?se\ (?:barnet|boernene|born|\w+\ (?:datter|soen|boern|barn))\ igen
        |(?:skal|vil|kommer\ til\ at)\ doe\b|\b(?:hun|han|de)\ kommer\ ikke\ (?:tilbage|hjem)\b(?!\ (?:til|paa|fra|i)\ )|\b(?:du|i)\ doer\b|(?:i\ (?:dag|aften|nat)\ er\ det\ slut|er\ det\ slut\ i\ (?:dag|aften|nat))|doe\ i\ (?:dag|aften|nat)|i\ (?:dag|aften|nat)\ (?:doer|dor)\ \w+|goer\ \w+\ noget\ ved\ (?:dem|hende|ham|barnet|boernene|os)
        |i\ (?:dag|aften|nat)\ (?:bliver|er)\ (?:dagen|natten|aftenen)\b|\b(?:kommer|henter)\ (?:\w+\ ){0,5}(?:og\ )?saa\ er\ det\ (?:slut|forbi|overstaaet))"""),
    # suicide, the victim's or the perpetrator's
    _p(r"""\b(?:selvmord|(?:slutte|ende|afslutte)\ det\ hele|et\ reb\b|tage\ (?:sit|mit|sig|dit)\ (?:eget\ )?liv|ikke\ vil\ leve|tager\ (?:sit|mit)\ (?:eget\ )?liv|vil\ ikke\ leve|ikke\ leve\ mere
        |vil\ doe\b|med\ et\ reb|koebt\ (?:et\ )?reb|taget\ (?:alle\ |en\ masse\ |mange\ )?(?:sine\ |mine\ |hendes\ |hans\ )?piller|haenge\ (?:sig|mig)|det\ her\ er\ farvel|hopper\ ud|farvelbrev\w*|afskedsbrev\w*|samlet\ piller|tage\ pillerne|springer\ ud|springe\ ud|hoppe\ ud|springer\ hvis
        |skade\ (?:sig|mig)\ selv|skaer\w*\ (?:sig|mig)\ selv|ende\ (?:sit|mit)\ liv|paa\ en\ bro|slugt|pillerne|piller\ (?:foran|klar|liggende)|overdosis
        |goere\ det\ i\ (?:aften|nat|dag)|ikke\ kan\ mere)"""),
    # weapons
    _p(r"""\b(?:kniv\w*|pistol\w*|gevae?r\w*|vaa?ben\w*|vapen|oekse\w*|boksejern|baseballbat\w*|koelle\w*|jernstang\w*|hammer\w*
        |machete\w*|skydevaa?ben\w*|benzin\w*|skud\w*|\w*riffel\w*|\w*gevaer\w*|syre(?!fri)\w*|aetsende)"""),
    # violence and being held
    _p(rf"""\b(?:sla+r(?!\ op)|sparker|angrib\w*|overfal(?!dsalarm)\w*|kvaeler|voldtag\w*|banker\ {PERSON}|taesker|taev\w*|sla+e?t(?!\ op)|bloeder|bloder|blod
        |slaar\ {PERSON}|holder\ {PERSON}\ fast|(?:hevet|hiver|trukket|slaebt|tvunget)\ (?:mig|hende|ham|os|barnet)\ ind\ i|har\ fat\ i\ {PERSON}|skriger\ at|holdt\ fast|hiver\ i|river\ i|skubbe\w*|slaeb\w*
        |(?:trykke\w*|presse\w*|maase\w*)\ \w+(?:\ \w+)?\ op\ (?:mod|ad)|presse\w*\ (?:\w+\ ){{0,2}}af\ vejen|kan\ ikke\ komme\ fri|blokerer\ (?:\w+\ ){{0,2}}doer\w*)\b"""),
    _p(r"""\b(?:spaerret|spaeret|laast|laaset|lukket|holdt|holder)\ (?:\w+\ ){0,3}inde\b|indespae\w*|ikke\ lade\ (?:mig|hende|ham|os)\ gaa?\b|bundet\ (?:mig|hende|ham|os)|binder\ (?:mig|hende)|kan\ ikke\ (?:komme\ ud|slippe(?!\ (?:det|tanken|billedet|sagen)\b)|komme\ vaek)
        |\bgidsel\b|\bfanget\b"""),
    # a child at risk
    _p(r"""\b(?:hentet|hentede|taget|tager|tog|snuppet|bortfoer\w*|kidnap\w*)\b(?:(?!samvae?r|weekend|hver\ anden).){0,40}\b(?:barnet|boernene|born|boern|datter\w*|soen\w*|pigen|drengen|baby\w*|ungerne|ungen|elev\w*|\w*aarige|yngste|aeldste)\b
        |\b(?:har|holder)\ (?:\w+\ )?(?:barnet|boernene|born|boern|datteren|soennen|pigen|drengen|babyen|ungerne|ungen|dem)\b|\bholder\ (?:\w+\ )?baby\w*
        |\bkoert\ (?:\w+\ ){0,3}med\ (?:ham|hende|barnet|boernene|drengen|pigen|dem)\b
        |\b(?:barnet|boernene|datter\w*|soen\w*|drengen|pigen|eleven|ungen|ungerne)\ er\ (?:lige\ |netop\ )?(?:i\ fare|alene|forsvundet|taget|bortfoert)|aldrig\ (?:boernene|barnet|born)\ igen
        |\bkan\ (?:vi\ |jeg\ |hun\ |han\ |de\ |man\ )?ikke\ finde\ (?:\w+\ )?(?:barnet|boernene|drengen|pigen|datter\w*|soen\w*|eleven|ungen|ungerne|babyen)\b
        |aldrig\ (?:faar\ lov\ til\ at\ )?se\w?\ (?:dem|hende|ham|boernene|barnet|drengen|pigen|babyen)\ igen|vil\ have\ barnet\ med
        |(?:sidste\ gang|aldrig\ mere)\ (?:du|i)\ ser\ (?:dem|ungerne|ungen|boernene|barnet|os|mig|hende|ham)\b"""),
    # explicit danger and cries for help
    _p(r"\b(?:livsfa\w*|akut\ fare|i\ fare|fare\ for)\b"),
    _p(
        r"^(?:hjaelp|hjalp|hjelp|hjael|help|sos)(?:\ ,|$|\ (?:han|hun|de|jeg|nu|politi\w*)|\ (?:mig|os)\b(?!\ (?:med|til|at)))|\b(?:hjaelp|hjelp|hjalp)\ (?:han|hun|de)\b"
        r"|\b(?:skrev|skriver|skrevet|sendte|sender|sendt|smsede|sms\w*)\ (?:bare\ |kun\ |lige\ )?(?:hjaelp|hjalp|hjelp|help|sos)\b(?!\ (?:til|med|fra|om|hos)\b)"
    ),
]
# Stalking itself, threats and violence in general: acute only with an explicit "now".
NEEDS_NOW = [
    # not daring to go out or open the door: fear, acute with a "now" (not in after-effects)
    _p(
        r"\btoer\ ikke\ (?:forlade|gaa\ ud|gaa\ hjem|komme\ ud|stoppe|standse|aabne|tage\ (?:hjem|tilbage)|koere\ hjem)"
    ),
    _p(r"\b(?:ring|ringer|tilkald)\ (?:til\ |efter\ )?(?:112|politiet|ambulance\w*)\b"),
    _p(r"\b(?:forfulgt|forfolgt|forf(?:oe|o|u)lge\w*|fulgt\ efter|jagtet|overvaag\w*)\b"),
    _p(
        r"\b(?:foelger|folger|forfoelger|forfolger|forfulger|jagter|koerer|korer|koert|loeber|lober)\ (?:\w+\ ){0,3}(?:efter|bag)\b"
    ),
    _p(
        r"\btru(?:er|ede|et|ende|sel)\b|\btrusl\w*|\bvold(?!salarm)\w*|\bslaa\w*\b(?!\ op)|\bbange\b(?!\ for\ (?:hvad|hvornaar|hvordan|om|at))|\bangst\b"
    ),
    # an ominous last word: acute when the message also says it is happening now
    _p(r"\bdet\ er\ for\ sent\b|\bsidste\ gang\ (?:du|i)\ hoerer\b"),
    _p(r"\bskrig\w*|\bskriger\b"),  # screams heard
    # a child on the way out of the country
    _p(r"\b(?:\w*lufthavn\w*|udlandet|ud\ af\ landet)\b"),
    # a menacing announcement, quoted or retold: acute when it is for tonight, or sent minutes ago
    _p(r"""\b(?:jeg|vi)\ (?:kommer|henter|finder|tager)\ (?:\w+\ ){0,2}(?:dig|jer|hende|ham)\b|\bkommer\ naar\ (?:du|hun|i)\ er\ alene
        |\bved\ hvor\ (?:du|i|hun)\ bor\b|\bvi\ ses\ (?:snart|i\ aften|i\ nat)|\bkomme\ til\ at\ fortryde|\bvise\ (?:dig|hende|ham|jer)\ hvad\ der\ sker
        |\btage\ (?:hende|ham|dem|boernene|barnet)\ med\ (?:sig|i\ doeden)"""),
    # something smashed; a photo of where she lives or her child is; her new address found; he stood at her home
    _p(r"\bsmadre\w*|\bsmadret\b"),
    _p(
        r"\bbillede\w*\ (?:\w+\ ){0,2}af\ (?:hendes|hans|min|mit|deres|vores|datterens|soennens|boernenes|barnets|den\ nye|det\ nye)\ (?:\w+\ )?(?:hus|hjem|hoveddoer|doer|bil|skole|lejlighed|bolig|adresse|vindue|opgang|institution|boernehave|arbejde)\w*"
    ),
    _p(r"\bfundet\ (?:den\ nye\ |hendes\ |hans\ |min\ |vores\ )?adresse\w*|\bfundet\ ud\ af\ (?:hvor|hvilk\w+)\b"),
    _p(rf"\b(?:staaet|stod|ventet)\ (?:\w+\ ){{0,3}}(?:i|ved|uden\ ?for|foran)\ (?:\w+\ ){{0,2}}{LOCATION}"),
]
# Danger that the wording itself places in the present: someone at the door, breaking
# in, following. These need no "nu" to be acute.
DANGER_NOW = [
    # intrusion: at the door, breaking in, inside
    _p(rf"""\b(?:bryd\w*\ ind|bryde\ \w+\ op|braekker|braeker|braekke\b|braekket|smadr(?!ede\b|et\b)\w*|lige\ smadret|dirk\w*|rode\w*\ ved|roder\ ved|hamrer\b|hamre\b|banker\ paa|banke\ paa|sparke\w*\ \w*\ ?doer\w*
        |komme\ ind(?!\ (?:paa|i)\ (?:et\ |en\ )?(?:krisecent\w*|forloeb\w*|behandling\w*|betragtning|ordning\w*|tilbud\w*)|\ til\ (?:jer|os|centret|en\ samtale|et\ moede|samtale\w*|moede\w*|byen)\b)|kommet\ ind|kommer\ ind\ nu|(?:brudt|braadt|bradt|broedt|braget)\ ind|(?:gaaet|koert)\ ind\ (?:paa|i|gennem)\ (?:\w+\ ){{0,2}}{LOCATION}
        |paa\ vej\ (?:ind|op|hen|herhen|herover|hertil|derover|over|hjem\ til)|er\ inde\ i(?!\ (?:en|et|sagen|sager\w*|billedet|forloeb\w*)\b)|traeng\w*\ ind|laas\w*\ op|(?<!det\ )(?<!naar\ han\ )(?<!naar\ hun\ )ringer\ paa|ringet\ paa\ (?:\w+\ )?doer\w*|(?:klatre|kravle)\w*\ (?:\w+\ )?(?:over|ind|op)\b
        |vil\ ikke\ gaa(?:\ (?:igen|derfra|herfra|vaek))?(?:\ ,|$)|gaar\ ikke\ foer|frem\ og\ tilbage\ (?:uden\ ?for|foran|ved)
        |\b(?:han|eksen|udoeveren|stalkeren|manden|faren|faderen)\ (?:\w+\ )?proever\ at\ komme\ (?:ind|forbi)
        |(?:aabne|aabner|river\ i|rive\ i|hiver\ i)\ (?:\w+\ ){{0,2}}(?:(?:hoved)?doer\w*|vindue\w*)|nae?gter\ at\ gaa|(?<!ikke\ )er\ her\b
        |(?:gaar|gar|loeber|kommer)\ (?:han\ |hun\ |de\ )?(?:op|hen)\ (?:mod|til|ad)\ (?:\w+\ ){{0,2}}(?:hoved)?(?:doer\w*|{LOCATION})
        |kommer\ (?:han|hun|de)\ ind\b
        |(?:rejse|koere|flygte|tage)\ (?:\w+\ ){{0,2}}langt\ vaek\ (?:i\ dag|nu|i\ aften|i\ nat)|(?:ud\ af|forlade)\ landet\ (?:i\ dag|nu|i\ aften|i\ nat|i\ morgen))"""),
    _p(rf"""\b(?:staar|star|staa|sidder(?!\ (?:noget|der|en\ \w*tracker\w*|en\ gps\w*|en\ chip\w*|en\ sender\w*)\b)|venter|holder|lurer|kigger|parkeret|haenger|raaber|gaar\ rundt)\ (?:\w+\ ){{0,4}}
        (?:uden\ ?for|udenfor|foran|ved|i|paa|nede\ i|oppe\ i|ude\ i|ude\ paa|bag|ind\ i|inde\ i|ud\ for)\ (?:\w+\ ){{0,2}}{LOCATION}"""),
    _p(
        r"\b(?:staar|star|lurer|holder|dukket\ op)\ (?:lige\ )?(?:ved|foran|uden\ ?for|udenfor|ude\ (?:foran|ved)|paa(?!\ ,|$|\ i\b)|nede\ paa)\b"
        r"|\bventer\ (?:lige\ )?(?:ved|foran|uden\ ?for|udenfor|ude\ foran|nede\ paa)\b"
    ),
    _p(
        r"\b(?:han|hun|de|udoeveren|stalkeren|eksen|exen|ex|eks|ekskaeresten|nogen)\ (?:er|staar|star|venter|(?<!hun\ )sidder|holder|lurer)\ (?:lige\ )?(?:her|herude|derude|udenfor|uden\ for|indenfor|bag\ (?:mig|hende|os))\b"
    ),
    # seen at a place as the message is written ("jeg kan se ham på perronen")
    _p(rf"""\b(?:jeg|vi|hun|de)\ kan\ (?:lige\ )?se\ (?:ham|eksen|exen|stalkeren|udoeveren|manden|faren)\ (?:\w+\ ){{0,2}}
        (?:paa|ved|uden\ ?for|udenfor|foran|i|nede\ i|ude\ paa|nede\ paa)\ (?:\w+\ ){{0,3}}{LOCATION}
        (?!.{{0,60}}\b(?:hver|tit|ofte|altid|dagligt|nogle\ gange|af\ og\ til)\b)"""),
    # watched, heard, found (following on its own is in NEEDS_NOW: case stories use it as a habit)
    _p(r"""\bgaar\ \w+\ (?:meter\ )?bag\b
        |\bbag\ (?:mig|hende|os)\b|fundet\ ud\ af\ hvor\ (?:jeg|hun|han|vi|de)\ bor|hoere\w*\ ham|hore\w*\ ham|kan\ hoere|\blyder\ (?:\w+\ ){0,2}(?:raab|skrig|slag|bank|braget)"""),
    _p(
        r"\b(?:han|hun|de)\ kommer\ (?:nu|herhen|hjem\ til|i\ aften|i\ nat)\b|\bkoerer\ rundt\ om\b|\bkoerer\ vaek\ med\b|\bi\ nat\ sker\ det\b"
    ),
    # gone off with him, gone over to her home, a child driven abroad: happening as the message is written
    _p(r"""\ber\ (?:koert|taget|gaaet|cyklet|loebet)\ (?:hen\ |over\ |ud\ )?til\ (?:hendes|pigens|kvindens|morens|moderens|ekskaerestens|eksens|ofrets)\ (?:adresse|hus|hjem|lejlighed|bolig|arbejde|skole)\w*
        |\ber\ (?:taget|koert|rejst|stukket)\ (?:af\ sted|afsted|vaek)\ med\ (?:en\ mand|ham|manden|stalkeren|udoeveren|eksen|faren)\b
        |\b(?:koerer|flyver|rejser)\ (?:\w+\ )?(?:til|mod)\ (?:\w+\ )?(?:m|med)\ (?:ham|hende|barnet|boernene|dem|drengen|pigen)\b(?!\ (?:i|paa|til|naeste|om)\ )"""),
    # a child not brought back, a door blocked: happening as the message is written
    _p(r"""\bikke\ (?:har\ )?afleveret\ (?:\w+\ ){0,2}(?:boern\w*|barn\w*|born|\w*aarige|datter\w*|soen\w*|pige\w*|dreng\w*|baby\w*)
        |\bblokerer\ (?:\w+\ ){0,2}(?:doer\w*|udgang\w*)"""),
    _p(
        r"\blader\ (?:mig|hende|ham|os|dem)\ ikke\ gaa\b|\bstillet\ sig\ (?:foran|i\ doer)|\bgemt\ (?:sig|mig)\b|\bgemmer\ (?:sig|mig)\b|\bhar\ fundet\ (?:hende|mig|os)\b|\bgaar\ (?:han|hun)\ ind\b|\b(?:han|hun|eksen|exen|ex|eks|ekskaeresten|manden|soennen|faren)\ (?:stadig\ |fortsat\ )?er\ (?:stadig\ )?i\ (?:bygningen|afdelingen|\w+\ stue)\b|\bstadig\ er\ i\ (?:lejligheden|huset|hjemmet|boligen)\b|\b(?:han|hun)\ (?:stadig\ |fortsat\ )?er\ (?:stadig\ )?i\ (?:lejligheden|huset|hjemmet|boligen|opgangen|haven|kaelderen|entreen|gaarden|bygningen|stuen|koekkenet)\b|\bkoerer\ (?:\w+\ ){0,2}mod\ (?:graensen|lufthavnen|udlandet)\b|\bjeg\ kan\ se\ (?:dig|jer|(?:dit|din|dine|jeres)\ (?:vindue\w*|hus\w*|bil\w*|doer\w*|lejlighed\w*|altan\w*|stue\w*))\b|\bholder\ (?:\w+\ ){0,2}parkeret\b|\bhar\ (?:staaet|ventet|siddet)\ (?:\w+\ ){0,3}(?:siden\ (?:lukketid|i\ morges|kl\w*)|i\ (?:en|et|over\ en)\ (?:time|kvarter))\b"
        r"|\b(?:han|hun)\ er\ (?:paa|ved|foran|uden\ ?for)\ (?:min\ |hendes\ |vores\ |deres\ )?(?:trappe\w*|doer\w*|opgang\w*|altan\w*|matrikel\w*)\b"
    ),
    # held or hidden as the message is written; found; seen outside; a weapon on him
    _p(
        r"\b(?:holder|spaerrer|laaser)\ (?:mig|os|hende|dem)\ inde\b|\b(?:siddet|sidder|ligger|staar)\ gemt\b|\bleder\ efter\ (?:mig|os)\b"
        r"|\bfundet\ dig\b|\ber\ (?:lige\ |netop\ )?set\ (?:\w+\ ){0,3}(?:uden\ ?for|udenfor|foran)\b"
        r"|\bhar\ (?:en\ |et\ )?(?:kniv|pistol|vaa?ben|gevae?r|oekse|hammer)\w*\ (?:i|paa|under)\ (?:jakke\w*|lomme\w*|taske\w*|haand\w*|baelte\w*|bukse\w*)"
    ),
    _p(
        r"(?<!altid\ )\bved\ (?:praecis\ )?hvor\ (?:jeg|hun|du|vi)\ er\b|\bventer\ (?:paa|til)\ (?:at\ )?(?:hun|han|jeg|hende|mig|du)\b|\bbakspejl\w*"
    ),
    _p(
        r"\b(?:har|med|holder|peger\ med)\ (?:\w+\ )?(?:kniv\w*|pistol\w*|vaa?ben\w*|gevae?r\w*|oekse\w*)\ (?:fremme|i\ haanden|mod)\b"
    ),
]
# "generelt": a general question, unless the danger it describes is in the present
# ("Generelt spørgsmål: … han er inde i boligen og har låst døren").
GENERALLY = _p(r"\bgenerel\w*")
# Explicit signs that it is happening now (or is about to).
NOW = _p(r"""\b(?:lige\ nu|netop\ nu|i\ det(?:te|\ her)\ oe?jeblik|i\ oe?jeblikket|for\ (?:en\ )?(?:halv\ )?time\ siden|(?:tager|svarer)\ (?:hun|han)\ ikke\ (?:sin\ |hendes\ |hans\ )?telefon\w*|for\ et\ (?:oe?jeblik|kvarter)\ siden|et\ kvarters\ tid|her\ til\ aften|klokken\ er\ \d+|(?:tager|svarer)\ ikke\ (?:sin\ |hendes\ |hans\ )?telefon\w*|lige\ (?:er\ )?blevet|herude|derude|her\ nu|(?<!ikke\ )er\ her|i\ nat|i\ aften|lige\ (?:bag|udenfor|uden|kommet|sendt|ringet|her)
    |(?:han|hun|de|nogen|udoeveren|stalkeren|eksen|exen|manden|faren|ekskaeresten)\ er\ ved\ at|proever\ at|prover\ at|forsoeger\ at|paa\ vej|(?<!naar\ hun\ er\ )(?<!naar\ han\ er\ )(?<!naar\ jeg\ er\ )alene\ hjemme|jeg\ er\ (?:saa\ |meget\ |virkelig\ )?bange(?!\ for)|svarer\ ikke|minutter\ siden|(?:er|sidder|var|stadig|nu|lige|har\ (?:hende|ham))\ i\ telefonen|i\ telefonen\ (?:med|nu|lige)|sagt\ i\ telefonen
    |sidder\ her|bag\ mig|hvisker|skrev\ lige|(?:har\ )?lige\ skrevet|lige\ har\ (?:skrevet|sendt|ringet|sms\w*|truet)|lige\ gik|lige\ er\ (?:kommet|gaaet|blevet|set)|ikke\ (?:har\ )?svaret\ (?:i|paa)\ (?:en|et|over\ en|\w+)\ (?:time|timer|kvarter)|bloeder|bloder|kan\ ikke\ komme\ (?:ud|af\ med)|skynd|kom\ nu
    |de\ sidste\ \w+\ min\w*|\bi\ (?:\d+|fem|ti|femten|tyve|tredive)\ min(?:ut\w*)?\b|(?:\d+|et|to|tre|fem|par)\ min\w*\ siden|forbindelsen\ (?:blev\ |bliver\ )?afbrudt|nu\ uanset\ hvad|kommer\ og\ henter\ (?:\w+\ ){0,3}nu|lige\ har\ set\ (?:ham|hende|eksen|udoeveren|stalkeren|manden)|lige\ (?:gaaet|koert|trykket|taget)|netop\ (?:koert|kommet|gaaet|ringet|skrevet|sendt|set)|ikke\ kan\ komme\ (?:ud|vaek|fri)|(?:har|er)\ lige\ (?:kommet|dukket|tjekket|parkeret|ankommet|fundet|opdaget|ringet|truet|set\ ham|hentet|taget)
    |naar\ som\ helst|(?:vi|jeg|hun|han)\ kan\ (?:lige\ )?se\ (?:ham|hende|dem|bilen|det\ fra)|om\ (?:en\ halv\ time|en\ time|et\ kvarter|\w+\ minutter|\w+\ timer|\d+\ min\w*|lidt))\b
    |^(?:hjaelp|hjelp|hjalp)\b""")
# "i dag" (or his coming "i morgen"): with danger content (a weapon, a threat on life,
# violence, a child taken), the day it happens is today, even in a story that also tells of
# earlier events; not the day it was told ("sagde i dag") or a contrast ("i dag er hun …").
TODAY = _p(
    r"\bkommer\ (?:\w+\ )?i\ morgen\b|\bi\ eftermiddag\b|(?<!fortalte\ )(?<!fortaeller\ )(?<!fortalte\ mig\ )(?<!fortalte\ os\ )(?<!fortaeller\ mig\ )(?<!fortaeller\ os\ )(?<!sagde\ det\ )(?<!sagde\ )(?<!skrev\ )(?<!ringede\ )(?<!fra\ )(?<!samtale\ )\bi\ dag\b"
    r"(?!\ (?:er|bor|lever|gaar|virker|fungerer)\ (?:hun|han|de|det)\b|\ har\ (?:hun|han|de)\ det\b"
    r"|\ (?:stabil|tryg|rolig|glad|fin|okay|ok|bedre|i\ behandling|i\ sikkerhed)\b)"
)
# Hypothetical framing: only an explicit "now" makes such a message acute.
# "ikke akut", "ingen fare": the writer says it is not an emergency.
NEGATED = _p(
    r"\b(?:ikke|ingen)\ (?:\w+\ ){0,3}(?:akut\w*|fare|farlig\w*)\b"
    r"|\bikke\ (?:\w+\ ){0,2}(?:sket|sker)\ (?:\w+\ ){0,2}(?:i\ dag|nu|noget\ nyt)\b"
)
HYPOTHETICAL = _p(r"""\bhver\ anden\ (?:dag|uge|weekend|gang)\b|\bhver\ (?:dag|morgen|aften|nat|uge|gang|weekend|mandag|tirsdag|onsdag|torsdag|fredag|loerdag|soendag)\b|\bhvert?\ (?:samvaer|weekend|besoeg|gang|maaned)\b|\bdagligt\b|(?:^|,\ )hvis\ (?:han|hun|de|den|det|der|jeg|du|vi|man|i|nogen|en|et|vedkommende|udoeveren|stalkeren|eksen|klienten|borgeren|patienten|barnet|faren|moren)\b|\bhvis\ der\b|\bhvad\ (?:\w+\ ){1,3}hvis\b|\bhvis\ (?:man|en\ |et\ |udoeveren|klienten|borgeren)|\ben\ dag\b
    |\bpaa\ et\ tidspunkt\b|\ber\ det\ nok\ (?:at|hvis|naar)\b|\bfrygter\b|\bbange\ for\ at\b|\bi\ fremtiden\b|\bforestil\ (?:dig|jer)\b|\bhypotetisk\w*|\bens\ (?:bolig|hus|hjem|doer|adresse|bil|arbejde)\b|\bteoretisk\w*|\bhvis\ (?:\w+\ ){0,4}nogensinde\b
    |(?:^|,\ )hvis\ (?:min|mit|mine|hans|hendes|deres|vores|din|dit)\b""")
# Words of teaching, planning and the law's wording: the scene they frame is made up or
# general, so they outweigh every sign of "now" ("et rollespil hvor han står udenfor nu").
TEXTBOOK = _p(
    r"\b(?:i\ almindelighed|juridisk\ set|taeller\ det\ som|hvad\ taeller\ (?:som|med)|rollespil\w*|drejebog\w*|studerende\w*|retningslinje\w*"
    r"|oevelse\w*|oevelsen|temadag\w*|undervise[rn]\w*|undervise\b|undervisningsmateriale\w*|beredskabsplan\w*|instruks\w*|novelle\w*|eksamen\w*|fiktiv\w*)\b"
)
# Words general questions use, but that a story of danger now can end with too ("hvordan
# registrerer vi det i statistikken", "hvor lang tid tager det typisk"): they outweigh
# everything except someone present now with a sign of danger (danger.is_acute_danger).
TEXTBOOK_WEAK = _p(
    r"\b(?:typisk\w*|hvor\ mange|tegn\ paa|statistik\w*|forskellen\ paa|straffen\ for|i\ stil\ med"
    r"|hvilke\ tegn|advarselstegn\w*|tal\ (?:for|paa|om)|forskning\w*|undersoegelse\w*|kursist\w*|undervisning(?!\w))\b"
)
# The danger is over for now: the police took the perpetrator away.
RESOLVED = _p(
    r"\b(?:afson\w*|anholdt\w*|anholdelse\w*|arresten|sat\ ud|fraflytt\w*|udsat\ af\ boligen|detention\w*|grundlovsforhoer\w*|politiet\ (?:har\ )?(?:taget|hentet|koert)\ ham|(?:sidder|er)\ i\ faengsel|(?:stalkeren|udoeveren|eksen|manden|gerningsmanden)\ er\ doed|(?:er|blev|blevet)\ sigtet|(?:er|blev|blevet)\ (?:han\ |hun\ )?doemt(?!\ for)|(?:politiet|patruljen|betjentene)\ tog\ ham\ med"
    r"|har\ det\ (?:ok|okay|fint|godt|bedre)|er\ i\ sikkerhed|er\ tryg(?:ge)?\ (?:her|nu|hos)|foeler\ sig\ tryg\w*|har\ ingen\ kontakt|(?:er|virker)\ (?:helt\ )?rolig|har\ overholdt)\b"
)
# ... unless he is out again: on leave from prison, released, escaped, not back in time.
RELEASED = _p(
    r"\b(?:fik\ (?:\w+\ )?udgang|(?:har|er)\ (?:\w+\ )?(?:paa\ )?udgang|er\ (?:blevet\ )?loesladt|er\ ude\ (?:igen|nu)"
    r"|er\ ude(?=\ ,|$)|(?:er|blev)\ (?:stukket\ af|undvege\w*|flygtet)|(?:er\ )?ikke\ (?:\w+\ )?kommet\ tilbage)\b"
)
# "har aldrig været voldelig": a denial is no sign of violence (removed before matching,
# so that other words in the same message still count).
DENIED = _p(
    r"\b(?:aldrig|ikke)\ (?:\w+\ ){0,2}(?:voldelig\w*|truende|truet(?:\ (?:\w+\ )?(?:med\ noget|nogen))?)\b|\bingen\ (?:trusl\w*|vold)\b|\b(?:har|er)\ (?:der\ )?ikke\ (?:vaeret|kommet|fremsat|sket)\ (?:nogen\ |noget\ )?(?:trusl\w*|vold\w*)(?:\ om\ vold)?\b|\bikke\ (?:\w+\ )?bange\b|\btruer\ (?:\w+\ )?ikke\b"
)
# The writer's own routine in the present: sitting with the victim at the station, a client
# at the writer's side or in for a talk, a case file open. Removed before matching like
# DENIED, so "sidder lige nu med en journal" or "hun er her nu til samtale" is no sign of
# now; anything else in the message (he stands outside, a knife) still counts.
WRITER_PRESENT = _p(
    r"\b(?:jeg\ |vi\ )?(?:sidder|staar|star)\ (?:\w+\ ){0,3}med\ (?:en\ |min\ |vores\ |hendes\ )?"
    r"(?:anmelder\w*|forurettede|klient\w*|borger\w*|patient\w*|beboer\w*|offer\w*|journal\w*|sag\w*|logskema\w*|akt\w*|papir\w*|underretning\w*)\b"
    r"|\b(?:hun|han|klienten|borgeren|patienten|kvinden|moren|faren|forurettede|anmelder\w*|beboeren)\ (?:er|sidder)\ (?:her\ |hos\ (?:mig|os)\ )?(?:nu\ )?"
    r"(?:til\ (?:\w+\ )?(?:samtale|moede|kontrol|konsultation|besoeg|aftale)\w*|ved\ siden\ af\ mig)\b"
    r"|\b(?:(?:vi|jeg)\ )?har\ (?:lige\ nu|netop\ nu|for\ tiden|i\ oejeblikket)\ (?:en|to|tre|fire|fem|seks|flere|nogle|mange|\d+)\ (?:beboer|klient|borger|sag|patient|elev|familie)\w*"
    r"|\b(?:(?:vi|jeg)\ )?har\ (?:to|tre|fire|fem|seks|syv|otte|ni|ti|flere|nogle|mange|\d+)\ (?:\w+\ )?(?:beboer|klient|borger|sag|patient|elev|familie)\w*\ (?:lige\ nu|netop\ nu|for\ tiden|i\ oejeblikket)"
    # the writer's own meeting today dates the telling, not the events told
    # "jeg underviser på en sprogskole" is the writer's job, not a teaching frame (TEXTBOOK)
    r"|\b(?:jeg|vi)\ (?:er\ )?undervise[rn]?\ (?:paa|ved)\ (?:en\ |et\ |den\ |det\ )?\w+"
    r"|\b(?:havde|har\ haft)\ (?:jeg\ |vi\ )?i\ dag\ (?:en|et)\ (?:\w+\ )?(?:samtale|moede|besoeg|konsultation|session|opkald)\w*"
    r"|\bi\ dag\ (?:havde|har)\ (?:jeg|vi)\ (?:haft\ )?(?:en|et)\ (?:\w+\ )?(?:samtale|moede|besoeg|konsultation|session|opkald)\w*"
    # the writer's own plan for tonight ("i aften har jeg træning med holdet")
    r"|\bi\ (?:dag|aften|eftermiddag|morgen)\ (?:har|skal)\ (?:jeg|vi)\ (?:\w+\ ){0,2}(?:traening|moede|vagt|kursus|oplaeg|undervisning|aftensvagt|nattevagt|timer?|fri)\w*"
    # calling the centre now is no sign that anyone is in danger now
    r"|\b(?:kan|maa|skal|vil)\ (?:hun|han|jeg|vi|klienten|borgeren)\ (?:gerne\ )?(?:ringe|skrive|komme)\ (?:til\ (?:jer|dig|centret|en\ raadgiver)\ )?nu\b"
    r"|\bringe\ til\ jer\ nu\b"
    # the writer's own after-effect, where the writer is ("jeg sidder nu i bilen og kan ikke slippe det")
    r"|\b(?:jeg|vi)\ (?:sidder|staar|er)\ (?:nu\ |lige\ nu\ |stadig\ )?(?:i|paa|ved|hjemme)\b(?:\ \w+){0,4}\ og\ (?:kan\ ikke\ (?:slippe\ det|lade\ vaere\ med\ at\ taenke\ paa\ det)|taenker\ (?:paa|over)\ (?:det|sagen|hende|ham)|er\ (?:helt\ )?(?:rystet|paavirket|ked\ af\ det))"
)
# A habit, not an event: "står nogle gange ved skolen". With no sign of now and no
# danger content (weapons, threats on life, violence), a habit is not acute.
HABITUAL = _p(
    r"\b(?:nogle\ gange|af\ og\ til|ind\ imellem|indimellem|tit|ofte|jaevnligt|gang\ paa\ gang|i\ perioder|konstant|i\ traek"
    r"|(?:to|tre|fire|fem|seks|flere|mange|\d+)\ gange\ (?:i\ )?(?:sidste|forrige)\ (?:uge|maaned|weekend)"
    r"|(?:den|de)\ sidste\ (?:\w+\ )?(?:maaned\w*|mdr|md|uger?|tid)|sket\ (?:\w+\ )?(?:\d+|to|tre|fire|fem|seks|flere|mange)\ gange|naar\ (?:hun|han|de|vi|jeg)\ har\ (?:moede\w*|samvaer\w*|aftale\w*|fri|vagt\w*|timer?|tid\b)|efter\ skole(?:tid)?(?!\ i\ dag)"
    r"|flere\ gange|gentagne\ gange|mange\ gange|(?:om|hver|en\ gang\ om)\ (?:ugen|maaneden)|hele\ tiden|(?:mange|nogle|flere)\ af\ (?:vores|mine|dem)|bliver\ ved\ med|(?:anden|tredje|fjerde|femte)\ gang"
    r"|i\ (?:et|et\ halvt|halvandet|to|tre|fire|flere|mange)\ (?:aar|maaneder|uger|halvt\ aar)|om\ (?:aftenen|natten|morgenen)|i\ frikvartererne"
    r"|(?:sender|skriver|ringer|laegger|filmer|foelger)\ (?:\w+\ ){0,4}og\ (?:staar|star|staa)|(?:staar|star|staa)\ (?:\w+\ ){0,4}og\ (?:laegger|sender|skriver|filmer))\b"
)
# A bare "nu" counts too, except in "hvad kan politiet gøre nu" and the like.
WEAK_NOW = _p(r"(?<!hvad\ )(?<!goere\ )(?<!gore\ )(?<!bruges\ )(?<!ske\ )(?<!som\ )\bnu\b(?!\ ogsaa)")
# General, procedural or hypothetical questions, worries, and events in the past.
GENERAL = _p(r"""(?:^|,\ )(?:hvordan|hvornaar|hvornar|hvilke|hvilken|hvem|findes|gaelder|har\ i|har\ man|kan(?!\ (?:i|du|nogen)\ hjaelpe)|skal\ (?:man|jeg|vi)|maa|boer|er
        |er\ det|er\ \w+\ (?:lige|en|et|altid)|hvad\ (?:er|betyder|siger|sker|kan\ (?:man|vi|politiet|jeg)|skal\ (?:man|vi)|goer\ (?:man|stalking|det)|gor\ man|boer))\b
    |\b(?:generelt|typisk|normalt|almindelig\w*|alvorlig\w*|i\ tilfaelde|risikovurd\w*|vurder\w*
    |notere\w*|journal\w*|dokumenter\w*|logskema\w*|skaermbille\w*|screenshot\w*|bevis\w*|kursus|kurser|uddann\w*|statistik\w*|paragraf\w*
    |straffelov\w*|straf\w*|anmeld\w*|bange\ for|frygter|logbog\w*|\w*risiko\w*|underretning\w*|bange\ for|frygter|utryg\w*|bekymr\w*|nervoes|har\ fortalt|fortalt\ om|spoerg\w*|spurgt|sparring
    |raad\ om|henvis\w*|undervisning|oplaeg|forebygg\w*|sikkerhedsplan\w*|efterreaktion\w*
    |paa\ (?:fb|facebook|snap\w*|instagram|tiktok|nettet|sociale\ medier|messenger))\b""")
PAST = _p(r"""\b(?:sidste\ (?:aar|maaned|uge|sommer|vinter)|i\ fjor|tidligere(?!\ (?:kaerest\w*|partner\w*|mand\b|kone\b|ansat\w*|kollega\w*|chef\w*|samlever\w*|ven\b|veninde\w*|aegtefael\w*|svoger\w*|svigerinde\w*|elev\w*|klient\w*|patient\w*|nabo\w*|bekendt\w*|arbejdsgiver\w*|kunde\w*|underbo\w*|overbo\w*|studiekammerat\w*|kaereste\w*))|tidl(?!\ (?:kaerest\w*|partner\w*|kollega\w*|ansat\w*))|engang|dengang|for\ (?:\w+\ ){1,3}(?:aar|ar|maaneder|maaned|uger|uge|stykke\ tid)\ siden|et\ stykke\ tid|loesladt|fik\ en\ dom|i\ flere\ (?:maaneder|uger|aar)|(?:flere|mange|nogle)\ aars\b|varetaegt\w*|faengsl\w*|sidder\ inde|i\ (?:19|20)\d\d
    |i\ (?:julen|paasken|\w+ferien|foraaret|efteraaret|sommer|vinter|januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december))\b""")


def fold(text: str) -> str:
    """Lowercase, fold æøå to ae/oe/aa and strip accents and punctuation."""
    text = unicodedata.normalize("NFC", text.lower()).translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[.!?;:,\u2013\u2014]+", " , ", text)  # clause boundaries stay visible
    text = re.sub(r"[^\w\s,]", " ", text)
    return " ".join(text.split())
